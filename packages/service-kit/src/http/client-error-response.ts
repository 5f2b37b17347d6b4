import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, type ErrorBody } from './error-body.js';

/**
 * Node's HTTP parser rejects some requests before Express sees them (headers over 16 KiB, a malformed request
 * line) and by default answers with an empty body. Answer in the same JSON shape as every other error instead,
 * naming the part of the request that is wrong.
 */
export function answerClientErrorsWithJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or a socket already written to has nobody left to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(clientErrorBody(error.code));
    const { statusCode, error: reason } = JSON.parse(body) as ErrorBody;
    socket.end(
      `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

export function clientErrorBody(code: string | undefined): ErrorBody {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return errorBody(431, 'request headers are larger than the server accepts (16 KiB)', [
        { field: 'headers', message: 'are too large' },
      ]);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errorBody(408, 'the request was not received in time', [{ field: 'request', message: 'timed out' }]);
    default:
      return errorBody(400, 'the request is not valid HTTP/1.1', [
        { field: 'request', message: `could not be parsed (${code ?? 'unknown parser error'})` },
      ]);
  }
}
