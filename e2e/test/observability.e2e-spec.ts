import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toWireMessage, UserUpdatedV1 } from '@switchyard/contracts';
import { type PrometheusServer, startPrometheus, waitFor } from '@switchyard/testing';
import amqp from 'amqplib';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { http, Platform } from './platform.js';

// Checks observability/ against the tools that will read it and against the services it describes: promtool for
// the Prometheus config and rules, the services' real /metrics for every metric a query names, and a real
// Prometheus scraping the running platform while events are retried and dead-lettered.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OBS = `${ROOT}observability/`;
const PROMETHEUS_CONFIG = `${OBS}prometheus/prometheus.yml`;
const RULES_DIR = `${OBS}prometheus/rules/`;
const RULE_TESTS_DIR = `${OBS}prometheus/tests/`;
const DASHBOARDS_DIR = `${OBS}grafana/dashboards/`;
const DATASOURCES = `${OBS}grafana/provisioning/datasources/datasources.yml`;

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => dir + name);
const RULE_FILES = yamlFiles(RULES_DIR);
const RULE_TEST_FILES = yamlFiles(RULE_TESTS_DIR);
const DASHBOARD_FILES = readdirSync(DASHBOARDS_DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => DASHBOARDS_DIR + name);
const relative = (file: string) => file.slice(ROOT.length);

function promtool(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.env.PROMTOOL_BIN ?? 'promtool', args, { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) return resolve();
      const hint =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? ' (promtool not installed? sudo bash scripts/install-infra.sh installs it)'
          : '';
      reject(new Error(`promtool ${args.join(' ')} failed${hint}:\n${stdout}${stderr}`));
    });
  });
}

// ---- metric names referenced by PromQL --------------------------------------------------------------------------

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
]);

/** Metric names an expression selects (no parser needed: strings, matchers, ranges and grouping lists are cut first). */
function metricNames(expr: string): string[] {
  const labelValues = /^\s*label_values\((.*),\s*[A-Za-z_]\w*\s*\)\s*$/s.exec(expr);
  if (labelValues) return metricNames(labelValues[1]!);
  if (/^\s*label_values\(\s*[A-Za-z_]\w*\s*\)\s*$/.test(expr)) return [];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w:])/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const rest = stripped.slice(match.index + match[0].length).trimStart();
    if (rest.startsWith('(')) continue; // a function or an aggregation
    if (PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

interface Reference {
  file: string;
  where: string;
  expr: string;
}

interface RuleGroupFile {
  groups: Array<{ name: string; rules: Array<{ record?: string; alert?: string; expr: string }> }>;
}

function ruleReferences(): { references: Reference[]; recorded: Set<string>; alerts: string[] } {
  const references: Reference[] = [];
  const recorded = new Set<string>();
  const alerts: string[] = [];
  for (const file of RULE_FILES) {
    for (const group of (parseYaml(readFileSync(file, 'utf8')) as RuleGroupFile).groups) {
      for (const rule of group.rules) {
        if (rule.record) recorded.add(rule.record);
        if (rule.alert) alerts.push(rule.alert);
        references.push({
          file: relative(file),
          where: rule.record ?? rule.alert ?? group.name,
          expr: String(rule.expr),
        });
      }
    }
  }
  return { references, recorded, alerts };
}

interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: DashboardPanel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: {
    list: Array<{ name: string; type: string; query?: string | { query?: string }; datasource?: { uid?: string } }>;
  };
}

const dashboards = () =>
  DASHBOARD_FILES.map((file) => ({ file, dashboard: JSON.parse(readFileSync(file, 'utf8')) as Dashboard }));
const allPanels = (panels: DashboardPanel[]): DashboardPanel[] =>
  panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);

function dashboardReferences(): Reference[] {
  const references: Reference[] = [];
  for (const { file, dashboard } of dashboards()) {
    for (const panel of allPanels(dashboard.panels)) {
      for (const target of panel.targets ?? []) {
        if (target.expr) references.push({ file: relative(file), where: `panel "${panel.title}"`, expr: target.expr });
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      if (variable.type === 'query' && query)
        references.push({ file: relative(file), where: `variable $${variable.name}`, expr: query });
    }
  }
  // Grafana's trace-to-metrics queries on the Jaeger datasource (`$$` is Grafana's escape for a literal `$`).
  const datasources = parseYaml(readFileSync(DATASOURCES, 'utf8')) as {
    datasources: Array<{
      name: string;
      jsonData?: { tracesToMetrics?: { queries?: Array<{ name: string; query: string }> } };
    }>;
  };
  for (const source of datasources.datasources) {
    for (const query of source.jsonData?.tracesToMetrics?.queries ?? []) {
      references.push({
        file: relative(DATASOURCES),
        where: `${source.name} trace-to-metrics "${query.name}"`,
        expr: query.query.replaceAll('$$', '$'),
      });
    }
  }
  return references;
}

/** Sample names a /metrics body can yield: every sample line, plus what each TYPE line implies (a histogram with no observation yet still has a TYPE). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram' || kind === 'summary')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      if (kind === 'counter' && !name.endsWith('_total')) names.add(`${name}_total`);
    } else if (line && !line.startsWith('#')) {
      names.add(/^[^{\s]+/.exec(line)![0]);
    }
  }
  return names;
}

// Series Prometheus makes itself rather than scraping them.
const PROMETHEUS_OWN = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

// RabbitMQ's exporter (rabbitmq_prometheus) on the local node: the aggregated /metrics and the per-queue families
// the `rabbitmq-queues` job of prometheus.yml asks /metrics/detailed for. The local node must have the plugin on
// (`rabbitmq-plugins enable rabbitmq_prometheus`; scripts/install-infra.sh does it).
const RABBITMQ_EXPORTER = process.env.RABBITMQ_PROMETHEUS_URL ?? 'http://127.0.0.1:15692';
const RABBITMQ_DETAILED = '/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count';
// Broker metrics newer than the test node (Debian's RabbitMQ 3.10), by the release that added them; each checked
// by hand in rabbitmq-server's deps/rabbitmq_prometheus/src/collectors/prometheus_rabbitmq_core_metrics_collector.erl.
// Only rules and panels that stay quiet or empty without them may use them. Delete an entry once the test node
// exports it.
const NEWER_BROKER_METRICS = new Map([['rabbitmq_detailed_queue_info', 'RabbitMQ 4.1 (emit_queue_info)']]);

// PROPOSED METRICS, not in the metrics contract yet: only rules marked `PROPOSED METRIC` in their file may use them,
// and they stay quiet (no series, no alert) until the services export them. Delete an entry once it is exported.
const PROPOSED = new Map<string, string>();

// ---- promtool -----------------------------------------------------------------------------------------------------

describe('Prometheus config and rules (promtool)', () => {
  it('has a valid config, whose rule_files resolve', async () => {
    await promtool('check', 'config', PROMETHEUS_CONFIG);
  }, 60_000);

  it('has valid rule files', async () => {
    expect(RULE_FILES.length).toBeGreaterThan(0);
    await promtool('check', 'rules', ...RULE_FILES);
  }, 60_000);

  it('passes its rule unit tests, which cover every alert', async () => {
    const { alerts } = ruleReferences();
    const tested = new Set(
      RULE_TEST_FILES.flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/alertname:\s*(\S+)/g)].map((m) => m[1]),
      ),
    );
    expect(alerts.filter((alert) => !tested.has(alert))).toEqual([]);
    await promtool('test', 'rules', ...RULE_TEST_FILES);
  }, 60_000);
});

// ---- Grafana -------------------------------------------------------------------------------------------------------

describe('Grafana provisioning', () => {
  it('has dashboards with unique uids and panel ids, a grid position for each panel, and only provisioned datasources or the datasource variable', () => {
    const provisioned = new Set(
      (parseYaml(readFileSync(DATASOURCES, 'utf8')) as { datasources: Array<{ uid: string }> }).datasources.map(
        (source) => source.uid,
      ),
    );
    expect([...provisioned].sort()).toEqual(['jaeger', 'prometheus']);
    const uids = new Set<string>();
    expect(DASHBOARD_FILES.map(relative).sort()).toEqual([
      'observability/grafana/dashboards/switchyard-messaging.json',
      'observability/grafana/dashboards/switchyard-overview.json',
      'observability/grafana/dashboards/switchyard-rabbitmq.json',
    ]);
    // Prometheus panels go through the $datasource variable (a kube-prometheus-stack Grafana names its own
    // Prometheus datasource); Jaeger links use the provisioned uid.
    const usable = new Set([...provisioned, '${datasource}']);
    for (const { file, dashboard } of dashboards()) {
      const problems: string[] = [];
      if (uids.has(dashboard.uid)) problems.push(`duplicate uid ${dashboard.uid}`);
      uids.add(dashboard.uid);
      if (dashboard.schemaVersion !== 41)
        problems.push(`schemaVersion ${dashboard.schemaVersion}, not Grafana 12's 41`);
      for (const name of ['datasource', 'namespace', 'service']) {
        if (!dashboard.templating.list.some((variable) => variable.name === name))
          problems.push(`no $${name} variable`);
      }
      const datasourceVariable = dashboard.templating.list.find((variable) => variable.name === 'datasource');
      if (datasourceVariable && (datasourceVariable.type !== 'datasource' || datasourceVariable.query !== 'prometheus'))
        problems.push('$datasource is not a Prometheus datasource variable');
      for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) {
        if (variable.datasource?.uid !== '${datasource}')
          problems.push(`variable $${variable.name} does not query $datasource`);
      }
      const ids = new Set<number>();
      for (const panel of allPanels(dashboard.panels)) {
        if (typeof panel.id !== 'number' || ids.has(panel.id))
          problems.push(`panel "${panel.title}" has a missing or duplicate id ${panel.id}`);
        ids.add(panel.id!);
        const grid = panel.gridPos;
        if (!grid || grid.w < 1 || grid.h < 1 || grid.x < 0 || grid.x + grid.w > 24)
          problems.push(`panel "${panel.title}" has a bad gridPos ${JSON.stringify(grid)}`);
        for (const uid of [panel.datasource?.uid, ...(panel.targets ?? []).map((target) => target.datasource?.uid)]) {
          if (uid !== undefined && !usable.has(uid)) problems.push(`panel "${panel.title}" uses datasource uid ${uid}`);
        }
        if (panel.type !== 'row' && (panel.targets ?? []).length === 0)
          problems.push(`panel "${panel.title}" has no query`);
      }
      // Grafana stacks overlapping panels unpredictably: no two may share a grid cell.
      const placed = allPanels(dashboard.panels).filter((panel) => panel.gridPos);
      for (const [i, a] of placed.entries()) {
        for (const b of placed.slice(i + 1)) {
          const [p, q] = [a.gridPos!, b.gridPos!];
          if (p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h)
            problems.push(`panels "${a.title}" and "${b.title}" overlap`);
        }
      }
      expect({ file: relative(file), problems }).toEqual({ file: relative(file), problems: [] });
    }
  });

  it('extracts metric names from PromQL the way the checks below rely on', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service", route!="/x"}[$__rate_interval])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      metricNames('(a:b:rate5m / c_total > 0.1) and on (queue) up == 0 unless max without (le) (d offset 5m)'),
    ).toEqual(['a:b:rate5m', 'c_total', 'up', 'd']);
    expect(metricNames('label_values(messaging_queue_depth{service=~"$service"}, queue)')).toEqual([
      'messaging_queue_depth',
    ]);
    expect(metricNames('time() - process_start_time_seconds{x="1e3"} * 1e3')).toEqual(['process_start_time_seconds']);
  });
});

// ---- against the running platform ---------------------------------------------------------------------------------

describe('observability against the running services', () => {
  let platform: Platform;
  let prometheus: PrometheusServer | undefined;
  const scrapes = new Map<'user-service' | 'order-service', string>();

  const scrapeBroker = async (pathAndQuery: string): Promise<string> => {
    const response = await fetch(RABBITMQ_EXPORTER + pathAndQuery).catch((error: Error) => {
      throw new Error(
        `RabbitMQ's exporter at ${RABBITMQ_EXPORTER} does not answer (${error.message}): rabbitmq-plugins enable rabbitmq_prometheus`,
      );
    });
    const body = await response.text();
    if (response.status !== 200)
      throw new Error(`GET ${RABBITMQ_EXPORTER}${pathAndQuery} answered ${response.status}: ${body.slice(0, 200)}`);
    return body;
  };

  const scrape = async (url: string): Promise<string> => {
    const response = await fetch(`${url}/metrics`);
    const body = await response.text();
    if (response.status !== 200)
      throw new Error(`GET ${url}/metrics answered ${response.status}: ${body.slice(0, 200)}`);
    return body;
  };

  beforeAll(async () => {
    platform = await Platform.start('observability');
    // A little of every flow, so histograms and labelled counters have series: HTTP on both services, an
    // event each way through outbox, publish and consume.
    const user = await platform.signUp({ email: `obs.${Date.now()}@example.com`, name: 'Olly' });
    await waitFor(
      'the profile in order-service',
      async () =>
        (await http(platform.orders.url, 'GET', `/customers/${user.id}`, undefined, user.token)).status === 200,
      20_000,
      100,
    );
    const order = await http(
      platform.orders.url,
      'POST',
      '/orders',
      { userId: user.id, items: [{ sku: 'OBS-1', quantity: 2, unitPriceCents: 1250 }] },
      user.token,
    );
    expect(order.status).toBe(201);
    await waitFor(
      'the order counted by user-service',
      async () =>
        (await http<{ orderCount: number }>(platform.users.url, 'GET', `/users/${user.id}`, undefined, user.token)).body
          .orderCount === 1,
      20_000,
      100,
    );
    // A 4xx, so status_code has more than one value.
    await http(platform.orders.url, 'GET', '/orders/not-a-uuid', undefined, user.token);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await platform?.stop();
  }, 60_000);

  it('exports every metric that a dashboard, datasource or rule queries, on both services or on the broker', async () => {
    scrapes.set('user-service', await scrape(platform.users.metricsUrl));
    scrapes.set('order-service', await scrape(platform.orders.metricsUrl));
    const broker = new Set([
      ...exportedNames(await scrapeBroker('/metrics')),
      ...exportedNames(await scrapeBroker(RABBITMQ_DETAILED)),
    ]);
    const { references, recorded } = ruleReferences();
    // Alerts whose comment block in the rule file says PROPOSED METRIC.
    const proposedRules = new Set(
      RULE_FILES.flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/# PROPOSED METRIC:[^\n]*\n(?:\s*#[^\n]*\n)*\s*- alert: (\S+)/g)].map(
          (m) => m[1]!,
        ),
      ),
    );
    const missing: string[] = [];
    for (const [service, body] of scrapes) {
      const exported = exportedNames(body);
      for (const reference of [...references, ...dashboardReferences()]) {
        for (const name of metricNames(reference.expr)) {
          if (exported.has(name) || recorded.has(name) || PROMETHEUS_OWN.has(name)) continue;
          if (name.startsWith('rabbitmq_') && (broker.has(name) || NEWER_BROKER_METRICS.has(name))) continue;
          if (PROPOSED.has(name) && proposedRules.has(reference.where)) continue;
          missing.push(`${name} (${reference.file}, ${reference.where}) is not in ${service}'s /metrics`);
        }
      }
    }
    expect([...new Set(missing)]).toEqual([]);
    // Every series carries the service label the rules and dashboards group by.
    for (const [service, body] of scrapes)
      expect(body).toMatch(new RegExp(`^http_request_duration_seconds_count\\{[^}]*service="${service}"`, 'm'));
  }, 30_000);

  it('shows retries, dead letters and the DLQ depth in a real Prometheus, and the DLQ alert goes pending', async () => {
    // The shipped config, its scrape jobs pointed at the test ports: its labels are what the rules and dashboards see.
    const shipped = parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const testTargets: Record<string, string> = {
      'localhost:9464': `127.0.0.1:${new URL(platform.users.metricsUrl).port}`,
      'localhost:9465': `127.0.0.1:${new URL(platform.orders.metricsUrl).port}`,
      'localhost:15692': new URL(RABBITMQ_EXPORTER).host,
    };
    for (const job of shipped.scrape_configs) {
      for (const group of job.static_configs) {
        group.targets = group.targets.map((target) => {
          if (!testTargets[target])
            throw new Error(
              `${relative(PROMETHEUS_CONFIG)} scrapes ${target}, which is neither a service's npm start address nor RabbitMQ's exporter`,
            );
          return testTargets[target];
        });
      }
    }
    prometheus = await startPrometheus({ config: shipped, ruleFiles: RULE_FILES, intervalSeconds: 1 });
    const prom = prometheus;

    // An update for a user order-service never heard of fails every attempt: retried through the 200 ms and
    // 400 ms tiers, then dead-lettered as retries_exhausted. Malformed JSON is dead-lettered at once.
    // As user-service, the producer the catalog names for user events: anything else is dead-lettered as forged.
    const broker = await amqp.connect(platform.vhost.identityUrl('user-service'));
    try {
      const channel = await broker.createConfirmChannel();
      const update = toWireMessage({
        eventId: randomUUID(),
        contract: UserUpdatedV1,
        data: { userId: randomUUID(), changes: { name: 'Nobody' }, occurredAt: new Date().toISOString() },
        source: 'user-service',
      });
      channel.publish('switchyard.events', update.routingKey, update.content, {
        persistent: true,
        ...update.properties,
        userId: 'user-service',
      });
      const malformedId = randomUUID();
      channel.publish('switchyard.events', 'user.created', Buffer.from('{"userId": '), {
        persistent: true,
        userId: 'user-service',
        messageId: malformedId,
        type: 'user.created',
        appId: 'observability-test',
        contentType: 'application/json',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': malformedId,
          'ce-type': 'user.created',
          'ce-source': 'observability-test',
          'x-event-version': 2,
        },
      });
      await (channel as unknown as { waitForConfirms(): Promise<void> }).waitForConfirms();
    } finally {
      await broker.close();
    }

    const value = async (expr: string) => (await prom.query(expr))[0]?.value;
    const scraped = (expr: string, condition: (v: number) => boolean) =>
      waitFor(
        `Prometheus to answer ${expr}`,
        async () => {
          const v = await value(expr);
          return v !== undefined && condition(v) ? v : undefined;
        },
        60_000,
        500,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\nprometheus output:\n${prom.output().slice(-2000)}`);
      });

    const Q = 'service="order-service", queue="order-service.user-events"';
    expect(await scraped('min(up{service=~"user-service|order-service|rabbitmq"})', (v) => v === 1)).toBe(1);
    expect(await scraped('count(up{service="rabbitmq"})', (v) => v === 2)).toBe(2);
    expect(await scraped(`sum(messaging_retries_total{${Q}})`, (v) => v >= 2)).toBeGreaterThanOrEqual(2);
    await scraped(`sum(messaging_dead_lettered_total{${Q}, reason="retries_exhausted"})`, (v) => v >= 1);
    await scraped(`sum(messaging_dead_lettered_total{${Q}, reason="malformed_json"})`, (v) => v >= 1);
    await scraped(`sum(messaging_messages_consumed_total{${Q}, outcome="retry"})`, (v) => v >= 2);
    expect(
      await scraped(
        'max(messaging_queue_depth{service="order-service", queue="order-service.user-events.dlq"})',
        (v) => v === 2,
      ),
    ).toBe(2);
    // The rules evaluate against the real series: a recording rule yields the queue, and the DLQ alert is pending
    // (it fires after 5 minutes) with the labels its annotations name.
    await scraped(`count(service_queue:messaging_messages_consumed:rate5m{${Q}})`, (v) => v === 1);
    const pending = await waitFor(
      'SwitchyardDeadLetterQueueNotEmpty pending',
      async () => {
        const alerts = await prom.query('ALERTS{alertname="SwitchyardDeadLetterQueueNotEmpty"}');
        return alerts.length > 0 ? alerts : undefined;
      },
      30_000,
      500,
    );
    expect(pending.map((alert) => alert.metric)).toEqual([
      expect.objectContaining({
        alertstate: 'pending',
        severity: 'warning',
        service: 'order-service',
        queue: 'order-service.user-events.dlq',
      }),
    ]);

    // Every rule evaluates without error against the real series.
    const rules = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const unhealthy = rules.data.groups.flatMap((group) => group.rules).filter((rule) => rule.health !== 'ok');
    expect(unhealthy.map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`)).toEqual([]);
  }, 180_000);

  it('answers every dashboard and datasource query from the real Prometheus, with data where the traffic made some', async () => {
    const prom = prometheus;
    if (!prom) throw new Error('needs the Prometheus the previous test started');
    // Grafana's variables as Grafana would substitute them with "All" selected.
    const asGrafana = (expr: string) =>
      expr
        .replace(/^\s*label_values\((.*),\s*\w+\s*\)\s*$/s, '$1')
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$service', 'user-service|order-service')
        .replaceAll('$namespace', '.*')
        .replaceAll('$rabbitmq_cluster', '.*')
        .replaceAll('$queue', '.+')
        .replaceAll('{$__tags}', '{service="order-service"}');
    // Queries this scenario cannot give data: no request failed with a 5xx. Anything else empty means a query
    // names a label or value the services do not produce.
    const mayBeEmpty = (expr: string) => /status_code=~"5\.\."/.test(expr) && !/ or /.test(expr);
    const problems: string[] = [];
    for (const reference of dashboardReferences()) {
      const expr = asGrafana(reference.expr);
      try {
        const samples = await prom.query(expr);
        if (samples.length === 0 && !mayBeEmpty(expr))
          problems.push(`${reference.file}, ${reference.where}: no data for ${expr}`);
      } catch (error) {
        problems.push(`${reference.file}, ${reference.where}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);
});
