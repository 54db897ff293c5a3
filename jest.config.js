/** Tests run against the built daemon and core (make build first); ts-jest only transpiles,
 *  `make typecheck` does the type checking once for the whole tree. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/global_setup.ts',
  globalTeardown: '<rootDir>/test/global_teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: false,
};
