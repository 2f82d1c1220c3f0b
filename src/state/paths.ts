import { join } from 'node:path';

/** Every path the agent uses, derived from configuration (never hard-coded deep inside). */
export interface Paths {
  readonly libDir: string;
  readonly extLogDir: string;
  readonly agentLogFile: string;
  readonly confPath: string;
  readonly pidFile: string;
}

export function handlerDirName(handlerName: string, version: string): string {
  return `${handlerName}-${version}`;
}

export function handlerDir(paths: Paths, handlerName: string, version: string): string {
  return join(paths.libDir, handlerDirName(handlerName, version));
}

export function handlerZipPath(paths: Paths, handlerName: string, version: string): string {
  return join(paths.libDir, `${handlerName}__${version}.zip`);
}

export function handlerLogDir(paths: Paths, handlerName: string): string {
  return join(paths.extLogDir, handlerName);
}

export function libFile(paths: Paths, name: string): string {
  return join(paths.libDir, name);
}
