// tap's node-arg: TypeScript test files (`npx tap test/x.test.ts`) run through tsx; the bundles `npm test` runs
// (test/.build/**/*.mjs) are plain JavaScript and skip its loader hooks, which cost each process seconds.
if (process.argv[1]?.endsWith('.ts')) await import('tsx')
