import express, { type Express } from "express";
import type { Databases } from "../db/databases.js";
import type { Logger } from "../logger.js";
import { healthRouter } from "./health.js";
import { errorHandler, notFoundHandler } from "./problem.js";

export type AppDependencies = { db: Databases; logger: Logger };

export function createApp({ db, logger }: AppDependencies): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(healthRouter({ primary: db.primary, replica: db.replica }));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
