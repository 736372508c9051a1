import { type ParseArgsConfig, parseArgs } from "node:util";

/** A command line's own mistake: the message and the usage on stderr, exit code 2. */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

/**
 * `parseArgs` for the npm-run CLIs: an unknown or malformed option is a usage error (exit 2), and `--help` / `-h`
 * (which every CLI's options declare) prints the usage and exits 0.
 */
export function parseCliArgs<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    usageError((err as Error).message, usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}
