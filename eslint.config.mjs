import nx from '@nx/eslint-plugin';

// Module boundaries are driven by the tags in each project.json:
//   type:contracts  generated code; imports nothing of ours
//   type:lib        shared libraries (prompting, tokenizer); may use contracts and other libs
//   type:kit        the service kit; may use contracts and libs
//   type:testing    test support; may use everything that is not an app
//   type:app        services and the CLI; use libs, never another app (Nx forbids importing apps)
//   type:e2e        cross-service tests and benchmarks; start apps as processes, import libs only
// and scope:<service> keeps each service to its own code plus scope:shared.
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/node_modules', '**/dist', 'var/**', '.nx/**', 'python-services/**', '**/*.generated.ts', 'libs/contracts/src/gen/**'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allowCircularSelfDependency: false,
          banTransitiveDependencies: false,
          checkDynamicDependenciesExceptions: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'] },
            { sourceTag: 'type:kit', onlyDependOnLibsWithTags: ['type:lib', 'type:contracts'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:kit', 'type:lib', 'type:contracts', 'type:testing'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:dataset', onlyDependOnLibsWithTags: ['scope:shared', 'scope:dataset'] },
            { sourceTag: 'scope:training', onlyDependOnLibsWithTags: ['scope:shared', 'scope:training'] },
            { sourceTag: 'scope:tracking', onlyDependOnLibsWithTags: ['scope:shared', 'scope:tracking'] },
            { sourceTag: 'scope:evaluation', onlyDependOnLibsWithTags: ['scope:shared', 'scope:evaluation'] },
            { sourceTag: 'scope:registry', onlyDependOnLibsWithTags: ['scope:shared', 'scope:registry'] },
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared', 'scope:cli'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared', 'scope:e2e'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
