// broker_dependency_up{dependency}: 1 when the dependency answers, asked at scrape time with the readiness checks,
// so Flow Service's outages show in /metrics though they never make a replica unready.
import { Gauge, type Registry } from 'prom-client'
import { checkDependencies, type DependencyChecks } from '../health/check-dependencies.js'

export function registerDependencyGauge(registry: Registry, checks: DependencyChecks): void {
  new Gauge({
    name: 'broker_dependency_up',
    help: 'Whether each dependency answers (1) or not (0): database, secretStore, flowService. Asked at scrape time.',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      for (const [dependency, status] of Object.entries(await checkDependencies(checks)))
        this.set({ dependency }, status.ok ? 1 : 0)
    }
  })
}
