// The journeydsl extension: starts `journeydsl lsp` (the language server of the Python package) for .journey
// and .journey.yaml files and connects VS Code to it. Syntax highlighting (syntaxes/) and the JSON Schema of the
// YAML form (schemas/, used by the YAML extension through `yamlValidation`) need no server.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const settings = vscode.workspace.getConfiguration("journeydsl");
  const command = settings.get<string>("server.command", "journeydsl");
  const extraArgs = settings.get<string[]>("server.extraArgs", []);
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return {
    command,
    args: ["lsp", ...extraArgs],
    transport: TransportKind.stdio,
    options: cwd ? { cwd } : {},
  };
}

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [
      { scheme: "file", language: "journey" },
      { scheme: "untitled", language: "journey" },
      { scheme: "file", language: "yaml", pattern: "**/*.journey.{yaml,yml}" },
      // Scenario files name steps in `expect.path`: go to definition, and a step rename renames them too.
      { scheme: "file", language: "yaml", pattern: "**/*.scenario.{yaml,yml}" },
    ],
    synchronize: {
      // A template or journey changed on disk (another editor, git checkout): the server checks again.
      fileEvents: vscode.workspace.createFileSystemWatcher(
        "**/{*.journey,*.journey.yaml,*.journey.yml,*.scenario.yaml,*.scenario.yml,*.j2,journeydsl.toml,pyproject.toml}",
      ),
    },
    outputChannelName: "journeydsl",
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  client = new LanguageClient("journeydsl", "journeydsl", serverOptions(), clientOptions());
  try {
    await client.start();
  } catch (error) {
    const command = vscode.workspace.getConfiguration("journeydsl").get<string>("server.command", "journeydsl");
    void vscode.window.showErrorMessage(
      `journeydsl: could not start the language server with \`${command} lsp\` (${String(error)}). ` +
        "Install it with `pip install journeydsl`, or set `journeydsl.server.command` to its path " +
        "(for example .venv/bin/journeydsl).",
    );
    client = undefined;
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("journeydsl.restartServer", async () => {
      await client?.stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("journeydsl.server")) {
        await client?.stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
