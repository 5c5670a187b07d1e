/**
 * The emulator's control interface: HTTP/JSON on its own port, through which tests, benchmarks
 * and people add callers, press keys, script dial-out outcomes, inject faults, run generated
 * traffic and read the bridge's true state. Every route is in docs/emulator.md.
 *
 * Ports appear in URLs as `span-channel` (`3-17` for port "3/17"); the URL-encoded form
 * `3%2F17` is accepted too. Refusals answer `{ error: { code, message } }` with the bridge's
 * BRIDGE_ERR_* code, so a test can assert on the same codes a driver would see.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { BridgeCommand, PortId } from '../driver.js';
import { isBridgeError, type BridgeErrorCode } from '../errors.js';
import type { BridgeModel } from './model.js';
import type { BridgeEndpoint, Faults } from './endpoint.js';
import { listen } from './listen.js';
import type { TrafficGenerator } from './traffic.js';
import {
  callInBody,
  commandBody,
  delayBody,
  dialOutPlanBody,
  dtmfBody,
  restartBody,
  talkBody,
  trafficBody,
} from './control-schemas.js';

export interface ControlDeps {
  model: BridgeModel;
  endpoint: BridgeEndpoint;
  traffic: TrafficGenerator;
}

const NOT_FOUND_CODES: ReadonlySet<BridgeErrorCode> = new Set([
  'BRIDGE_ERR_CONF_NOT_FOUND',
  'BRIDGE_ERR_PORT_NOT_FOUND',
  'BRIDGE_ERR_DIALOUT_NOT_FOUND',
]);

/** The faults that persist until cleared, by their URL name: how a PUT body sets each, and its clear. */
const FAULTS: Record<string, { set: (body: unknown) => Partial<Faults>; clear: Partial<Faults> }> = {
  'silent-heartbeats': { set: () => ({ silentHeartbeats: true }), clear: { silentHeartbeats: false } },
  delay: { set: (body) => ({ commandDelayMs: delayBody.parse(body).ms }), clear: { commandDelayMs: 0 } },
  refuse: { set: () => ({ refuseCommands: true }), clear: { refuseCommands: false } },
  duplicate: { set: () => ({ duplicateEvents: true }), clear: { duplicateEvents: false } },
  reorder: { set: () => ({ reorderEvents: true }), clear: { reorderEvents: false } },
};

function portFromUrl(segment: string): PortId {
  return segment.replace('-', '/');
}

export function createControlApp({ model, endpoint, traffic }: ControlDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '256kb' }));

  app.get('/state', (_req, res) => {
    res.json(model.state());
  });

  app.post('/callers', (req, res) => {
    const result = model.callIn(callInBody.parse(req.body));
    res.status(result.state === 'joined' ? 201 : 202).json(result);
  });
  app.delete('/ports/:port', (req, res) => {
    model.hangUp(portFromUrl(param(req, 'port')), req.query.reason === 'dropped' ? 'dropped' : 'hangup');
    res.status(204).end();
  });
  app.post('/ports/:port/dtmf', (req, res) => {
    res.json(model.sendDtmf(portFromUrl(param(req, 'port')), dtmfBody.parse(req.body).digits));
  });
  app.post('/ports/:port/talk', (req, res) => {
    res.json({ talking: model.talk(portFromUrl(param(req, 'port')), talkBody.parse(req.body).ms) });
  });

  app.post('/commands', (req, res) => {
    const command = commandBody.parse(req.body) as BridgeCommand;
    res.json({ reply: model.execute(command) ?? null });
  });

  app.get('/dial-out-plan', (_req, res) => {
    res.json(model.dialOutPlan);
  });
  app.put('/dial-out-plan', (req, res) => {
    const body = dialOutPlanBody.parse(req.body);
    const current = model.dialOutPlan;
    model.setDialOutPlan({ rules: body.rules, odds: body.odds ?? current.odds, ringMs: body.ringMs ?? current.ringMs });
    res.json(model.dialOutPlan);
  });

  app.get('/faults', (_req, res) => {
    res.json(endpoint.faults);
  });
  app.delete('/faults', (_req, res) => {
    endpoint.clearFaults();
    res.json(endpoint.faults);
  });
  app.post('/faults/drop', (_req, res) => {
    endpoint.dropConnections();
    res.status(204).end();
  });
  app.post('/faults/restart', (req, res) => {
    endpoint.restart(restartBody.parse(req.body ?? {}).keepState);
    res.status(204).end();
  });
  app.put('/faults/:name', (req, res) => {
    endpoint.setFaults(fault(param(req, 'name')).set(req.body ?? {}));
    res.json(endpoint.faults);
  });
  app.delete('/faults/:name', (req, res) => {
    endpoint.setFaults(fault(param(req, 'name')).clear);
    res.json(endpoint.faults);
  });

  app.get('/traffic', (_req, res) => {
    res.json(traffic.stats());
  });
  app.put('/traffic', (req, res) => {
    traffic.start(trafficBody.parse(req.body));
    res.json(traffic.stats());
  });
  app.delete('/traffic', (req, res) => {
    traffic.stop({ hangUp: req.query.hangUp === 'true' });
    res.json(traffic.stats());
  });

  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', 'no such route (see docs/emulator.md)');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isBridgeError(err)) {
      const status = NOT_FOUND_CODES.has(err.code) ? 404 : err.code === 'BRIDGE_ERR_INVALID' ? 400 : 409;
      sendError(res, status, err.code, err.message);
    } else if (err instanceof z.ZodError) {
      sendError(res, 400, 'BAD_REQUEST', z.prettifyError(err));
    } else if (err instanceof RangeError || err instanceof SyntaxError) {
      sendError(res, 400, 'BAD_REQUEST', err.message);
    } else {
      sendError(res, 500, 'INTERNAL', err instanceof Error ? err.message : String(err));
    }
  });
  return app;
}

/** The control interface, listening. */
export class ControlServer {
  readonly #server: http.Server;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(deps: ControlDeps, options: { host: string; port: number }): Promise<ControlServer> {
    const server = http.createServer(createControlApp(deps));
    await listen(server, options.host, options.port);
    return new ControlServer(server);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts idle keep-alive connections so close does not wait on them. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

function fault(name: string): (typeof FAULTS)[string] {
  const found = Object.hasOwn(FAULTS, name) ? FAULTS[name] : undefined;
  if (!found) throw new RangeError(`no fault '${name}'; faults: ${Object.keys(FAULTS).join(', ')}`);
  return found;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new RangeError(`missing ${name}`);
  return value;
}

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}
