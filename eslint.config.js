// Lint: typed rules so a forgotten await (a floating promise) fails the build.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The layering, checked on every import of src/ (tests may import anything). Lower layers never import higher
// ones: leaves (shared/, domain/, tracing/) → stores and clients (db/, errors/, catalog/, flow-service/, secrets/, emulator/,
// logging/, health/) → use cases (connections/, audit/, auth/) → background work (background/, poller/,
// reconciler/) → http/ → the composition root (app.ts, broker.ts, openapi-document.ts) → entry points (bin/, cli/).
const area = (...names) => `(^|/)(${names.join('|')})/`
const root = (...names) => `(^|/)(${names.join('|')})\\.js$`
const ENTRY = area('bin', 'cli')
const COMPOSITION = root('app', 'broker', 'openapi-document', 'server')
// The OpenTelemetry SDK is set up in one file, by the composition root, only when tracing is on; everything else
// sees @opentelemetry/api alone (a Tracer, or none).
const OTEL_SDK = {
  regex: '^@opentelemetry/(sdk-|exporter-|context-|resources)',
  message: 'Only src/tracing/start-tracing.ts uses the OpenTelemetry SDK; elsewhere @opentelemetry/api only.'
}
const layer = (files, regexes, why, { sdk = false, ignores } = {}) => ({
  files,
  ...(ignores !== undefined ? { ignores } : {}),
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [...regexes.map((regex) => ({ regex, message: why })), ...(sdk ? [] : [OTEL_SDK])] }
    ]
  }
})
const layering = [
  layer(
    ['src/shared/**', 'src/domain/**'],
    ['^\\.\\./'],
    'shared/ and domain/ are leaves: they import nothing else of the app.'
  ),
  layer(['src/tracing/**'], ['^\\.\\./'], 'tracing/ is a leaf: it imports nothing else of the app.', {
    ignores: ['src/tracing/start-tracing.ts']
  }),
  layer(['src/tracing/start-tracing.ts'], ['^\\.\\./'], 'tracing/ is a leaf: it imports nothing else of the app.', {
    sdk: true
  }),
  layer(
    ['src/db/**', 'src/errors/**'],
    [
      area(
        'connections',
        'audit',
        'auth',
        'catalog',
        'flow-service',
        'secrets',
        'emulator',
        'http',
        'poller',
        'reconciler',
        'background',
        'metrics',
        'health'
      ),
      ENTRY,
      COMPOSITION
    ],
    'db/ and errors/ sit below everything but the leaves.'
  ),
  layer(
    ['src/catalog/**', 'src/flow-service/**', 'src/secrets/**', 'src/emulator/**', 'src/logging/**', 'src/health/**'],
    [area('connections', 'audit', 'auth', 'http', 'poller', 'reconciler', 'background', 'metrics'), ENTRY, COMPOSITION],
    'Stores and clients never import use cases, background work, HTTP or the composition root.'
  ),
  layer(
    ['src/connections/**', 'src/auth/**'],
    [area('http', 'poller', 'reconciler', 'background', 'metrics'), ENTRY, COMPOSITION],
    'Use cases never import HTTP, the background loops, metrics or the composition root: data flows http → use cases → stores/clients.'
  ),
  // One object per folder: a later object's no-restricted-imports replaces an earlier one's for the same files.
  layer(
    ['src/audit/**'],
    [area('connections', 'auth', 'http', 'poller', 'reconciler', 'background', 'metrics'), ENTRY, COMPOSITION],
    'audit/ is below connections/ and auth/ (they write audit rows, it knows nothing of them) and never imports HTTP, the loops or the composition root.'
  ),
  layer(
    ['src/background/**', 'src/poller/**', 'src/reconciler/**', 'src/metrics/**'],
    [area('http'), ENTRY, COMPOSITION],
    'Background work and metrics never import HTTP or the composition root.'
  ),
  layer(
    ['src/http/**'],
    [ENTRY, COMPOSITION],
    'http/ is wired by app.ts; it never imports the composition root or entry points.'
  ),
  layer(['src/*.ts'], [ENTRY], 'Only entry points import entry points.')
]

/** Plain JavaScript run by node itself, before any TypeScript loader: outside tsconfig, linted without types. */
const PLAIN_JAVASCRIPT = [
  'eslint.config.js',
  'test/run.mjs',
  'test/support/typescript-loader.mjs',
  'test/support/build-cache.mjs',
  'test/support/skip-processinfo.mjs',
  'test/support/run-databases.mjs'
]

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'client/dist/**',
      'client/src/schema.ts',
      'node_modules/**',
      'test/.build/**',
      '.data/**',
      'coverage/**',
      '.tap/**',
      'bench/results/**'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: PLAIN_JAVASCRIPT
        },
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off'
    }
  },
  {
    // node-vault returns `any`; only its wrapper may touch it.
    files: ['src/secrets/vault/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off'
    }
  },
  {
    // Plain JavaScript run by node itself, before any TypeScript loader: no type information to lint with.
    files: PLAIN_JAVASCRIPT,
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } }
  },
  ...layering
)
