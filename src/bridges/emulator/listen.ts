/**
 * Binding and releasing the emulator's listeners. Every emulator server (both protocol servers
 * and the control interface) binds on port 0 in tests and must learn the port it got; binding
 * errors (port taken) must reject rather than surface later as an unhandled 'error' event.
 */
import type net from 'node:net';

/** Listens and resolves with the bound port. */
export function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Stops listening; resolves at once for a server that never listened or already closed. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
