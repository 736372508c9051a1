#!/usr/bin/env node
// A Prisma generator that writes the full DMMF datamodel (native types, defaults, database names) to a JSON file.
// test/prisma-drift.test.ts compares it with the migrated database's catalog.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import generatorHelper from "@prisma/generator-helper";

generatorHelper.generatorHandler({
  onManifest: () => ({ prettyName: "DMMF JSON", defaultOutput: "./dmmf.json" }),
  onGenerate: async (options) => {
    const output = options.generator.output?.value;
    if (!output) throw new Error("dmmf generator: no output path");
    await mkdir(path.dirname(output), { recursive: true });
    await writeFile(output, `${JSON.stringify(options.dmmf.datamodel, null, 2)}\n`);
  },
});
