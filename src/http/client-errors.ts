import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { PROBLEM_CONTENT_TYPE, type Problem, problemType } from "./problem.js";

type ParserProblem = { status: number; code: string; title: string; detail: string };

/** What Node's HTTP parser refuses before express sees a request, by the error's code (as Node's own answers). */
const PARSER_PROBLEMS: Record<string, ParserProblem> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: "request-header-fields-too-large",
    title: "Request Header Fields Too Large",
    detail:
      "The request line and headers are larger than this server accepts (16 KB); shorten the query string.",
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    code: "payload-too-large",
    title: "Content Too Large",
    detail: "The chunk extensions of the request body are larger than this server accepts.",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: "request-timeout",
    title: "Request Timeout",
    detail: "The request was not received in time.",
  },
};

const BAD_REQUEST: ParserProblem = {
  status: 400,
  code: "bad-request",
  title: "Bad Request",
  detail: "The request is not valid HTTP/1.1 (request line, headers or framing).",
};

/** The whole HTTP/1.1 response for a parser error: problem+json, then the connection closes. */
export function clientErrorResponse(code: string | undefined): string {
  const p = PARSER_PROBLEMS[code ?? ""] ?? BAD_REQUEST;
  const problem: Problem = { type: problemType(p.code), title: p.title, status: p.status, detail: p.detail };
  const body = JSON.stringify(problem);
  return (
    `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Node answers what its HTTP parser refuses (a 20 KB query string, a garbage request line) with a bare status line
 * and no body. Every status we send is problem+json, so this writes the whole response itself, then closes. Use it
 * on every server that serves the app (src/main.ts, test/support/api.ts, bench/server.ts).
 */
export function handleClientErrors(server: Server): Server {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node's own handler: a response already on its way on this keep-alive socket must not be corrupted by
    // another one written into its middle; a reset peer reads nothing.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    // end() flushes the response; destroy() then frees the socket even if the peer never closes its side.
    socket.end(clientErrorResponse(err.code), () => socket.destroy());
  });
  return server;
}
