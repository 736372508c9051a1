import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { PROBLEM_CONTENT_TYPE, type Problem, problemType } from "./problem.js";

/** What Node's HTTP parser refuses before express sees a request, by the error's code. */
const PARSER_PROBLEMS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: "request-header-fields-too-large",
    title: "Request Header Fields Too Large",
    detail:
      "The request line and headers are larger than this server accepts (16 KB); shorten the query string.",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: "request-timeout",
    title: "Request Timeout",
    detail: "The request was not received in time.",
  },
};

const BAD_REQUEST = {
  status: 400,
  code: "bad-request",
  title: "Bad Request",
  detail: "The request is not valid HTTP/1.1 (request line, headers or framing).",
};

/**
 * Node answers what its HTTP parser refuses (a 20 KB query string, a garbage request line) with a bare status line
 * and no body. Every status we send is problem+json, so this writes the whole response itself, then closes.
 */
export function handleClientErrors(server: Server): Server {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const p = PARSER_PROBLEMS[err.code ?? ""] ?? BAD_REQUEST;
    const problem: Problem = {
      type: problemType(p.code),
      title: p.title,
      status: p.status,
      detail: p.detail,
    };
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}
