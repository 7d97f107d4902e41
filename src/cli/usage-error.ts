/** A command line that cannot be run as written: exit code 2 and a pointer to --help. */
export class CliUsageError extends Error {}
