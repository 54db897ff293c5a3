import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type ConfigOverrides } from './config/load';
import { createLogger, type LogLevel } from './log';
import { startDaemon } from './daemon/daemon';
import { runDoctor } from './doctor/doctor';
import { PACKAGE_VERSION } from './paths';

const USAGE = `usage: shoald [--config FILE] [--socket PATH] [--root DIR] [--run-dir DIR] [--log-level debug|info|warn|error]
       shoald doctor [--config FILE]      check this host for what the runtime needs
       shoald image import FILE           load an OCI layout or docker-archive tarball into the store
       shoald --version`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      socket: { type: 'string' },
      root: { type: 'string' },
      'run-dir': { type: 'string' },
      'log-level': { type: 'string' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`shoald ${PACKAGE_VERSION}\n`);
    return 0;
  }
  const overrides: ConfigOverrides = {
    socket: values.socket,
    root: values.root,
    run_dir: values['run-dir'],
    log_level: values['log-level'],
  };
  const { config, source } = loadConfig(values.config, overrides);
  const log = createLogger(config.log_level as LogLevel);

  const [command, ...rest] = positionals;
  switch (command) {
    case undefined:
      return runForeground(config, source, log);
    case 'doctor':
      return runDoctor(config);
    case 'image': {
      if (rest[0] !== 'import') break;
      const { runImageImport } = await import('./image/import_cli');
      return runImageImport(rest.slice(1), config, log);
    }
  }
  process.stderr.write(`shoald: unknown command "${positionals.join(' ')}"\n${USAGE}\n`);
  return 2;
}

async function runForeground(...args: Parameters<typeof startDaemon>): Promise<number> {
  const log = args[2];
  const daemon = await startDaemon(...args);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'signal received');
      daemon.stop().then(
        () => resolve(0),
        (err: Error) => {
          log.error({ err }, 'stopping failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`shoald: ${message}\n`);
    process.exit(1);
  },
);
