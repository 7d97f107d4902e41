import { loadConfigFile } from '../config/load.ts';
import { formatProblems, summarizeConfig } from '../config/format.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';

export async function checkConfigCommand(file: string): Promise<CommandResult> {
  const result = await loadConfigFile(file);
  if (!result.ok) {
    process.stderr.write(`${formatProblems(result.problems)}\n${result.problems.length} problem(s) in ${file}\n`);
    return EXIT.invalidConfig;
  }
  process.stdout.write(`${summarizeConfig(result.config)}\n${file}: OK\n`);
  return EXIT.ok;
}
