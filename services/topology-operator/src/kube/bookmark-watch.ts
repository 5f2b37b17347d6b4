import { type KubeConfig, Watch } from '@kubernetes/client-node';

/**
 * Server-side watch timeout: 25 s, below client-node's 30 s inactivity timeout (Watch's requestTimeoutMs, not
 * configurable). The server then ends a quiet watch cleanly, after a last bookmark (a real API server sends one
 * shortly before the timeout), instead of the client aborting it as a TimeoutError.
 */
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 25;

/**
 * client-node's Watch, asking for BOOKMARK events and a server-side timeout on every watch it opens. ListWatch
 * (2.0.1) sends only resourceVersion; without bookmarks a watch on a quiet resource keeps the resourceVersion of
 * its last change, which the server compacts away, so every reconnect after a while is a 410 and a full re-list.
 * ListWatch already takes the resourceVersion of a bookmark as its own.
 */
export class BookmarkWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: number = DEFAULT_WATCH_TIMEOUT_SECONDS,
    /** Called as each watch is opened (after ListWatch has stored the list it resumes from). */
    private readonly onOpen: () => void = () => undefined,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.onOpen();
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds },
      callback,
      done,
    );
  }
}
