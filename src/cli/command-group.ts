/**
 * A command of subcommands (`obiente domains ls|add|rm`), shared between the files that add to
 * it: each calls `commandGroup(program, "domains", …)` and gets the one group, made by whichever
 * registers first (so `domains verify` can live beside `domains ls` in a file of its own).
 */
import type { Command } from "commander";

export function commandGroup(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((command) => command.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}
