import nx from '@nx/eslint-plugin';

// Module boundaries are driven by the tags in each project.json:
//   type:contracts  generated code; imports nothing of ours
//   type:lib        shared libraries (prompting, tokenizer); may use contracts and other libs
//   type:kit        the service kit; may use contracts and libs
//   type:testing    test support; may use everything that is not an app (spec files of any project may use it)
//   type:app        services and the CLI; use libs, never another app (Nx forbids importing apps)
//   type:e2e        cross-service tests and benchmarks; start apps as processes, import libs only
// and scope:<service> keeps each service to its own code plus scope:shared.
const scopes = ['dataset', 'training', 'tracking', 'evaluation', 'registry', 'cli', 'dashboard', 'e2e'];

/** The dependency rules; spec files (tests) may also use the test-support lib. */
function constraints(inTests) {
  const testing = inTests ? ['type:testing'] : [];
  return [
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', ...testing] },
    { sourceTag: 'type:kit', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts', ...testing] },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts'] },
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts', 'type:testing'] },
    { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts', 'type:testing'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    ...scopes.map((scope) => ({ sourceTag: `scope:${scope}`, onlyDependOnLibsWithTags: ['scope:shared', `scope:${scope}`] })),
  ];
}

const boundaries = (inTests) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allowCircularSelfDependency: false,
    banTransitiveDependencies: false,
    checkDynamicDependenciesExceptions: [],
    depConstraints: constraints(inTests),
  },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/node_modules', '**/dist', 'var/**', '.nx/**', 'python-services/**', '**/*.generated.ts', 'libs/contracts/src/gen/**'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
    },
  },
  {
    // Tests may use @medtune/testing (real servers, process helpers) whatever project they are in.
    files: ['**/*.spec.ts', '**/test-support/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
