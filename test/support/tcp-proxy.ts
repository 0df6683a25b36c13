// A TCP proxy in front of the PostgreSQL server, to cut the database off for real (sockets reset, the port refusing
// connections) and bring it back on the same port.
import net from 'node:net'

export interface TcpProxy {
  port: number
  /** Drops every open connection and stops listening: new connections are refused. */
  down: () => Promise<void>
  /** Listens again on the same port. */
  up: () => Promise<void>
  close: () => Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  const server = (): net.Server =>
    net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => {
          sockets.delete(s)
        })
        s.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream)
      upstream.pipe(client)
    })
  let current: net.Server | undefined
  const listen = async (port: number): Promise<number> => {
    const s = server()
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        resolve()
      })
    })
    current = s
    return (s.address() as net.AddressInfo).port
  }
  const port = await listen(0)
  const down = async (): Promise<void> => {
    const s = current
    current = undefined
    for (const socket of sockets) socket.destroy()
    if (s !== undefined)
      await new Promise<void>((resolve) => {
        s.close(() => {
          resolve()
        })
      })
  }
  return {
    port,
    down,
    up: async () => {
      if (current === undefined) await listen(port)
    },
    close: down
  }
}
