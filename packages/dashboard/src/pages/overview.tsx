import type { BrokerSnapshot, DeadLetterSummary } from "../broker/brokerView.js";
import type { ServiceThroughput, ThroughputBucket } from "../queries/index.js";
import { count, percent, rate, time } from "./format.js";
import { Empty, Layout, type PageContext } from "./layout.js";

export interface OverviewData {
  broker: BrokerSnapshot;
  throughput: ServiceThroughput[];
  series: ThroughputBucket[];
  deadLetters: DeadLetterSummary[];
}

export function OverviewPage(props: { ctx: PageContext; data: OverviewData }) {
  const { ctx, data } = props;
  const byService = new Map(data.throughput.map((row) => [row.service, row]));
  const services = [
    ...new Set([...data.broker.services.map((s) => s.service), ...data.throughput.map((t) => t.service)]),
  ];
  const queues = new Map(data.broker.services.map((s) => [s.service, s]));
  return (
    <Layout ctx={ctx} title="Overview" current="/" topics={["broker", "failures", "workers"]}>
      <h1>Overview</h1>
      {data.broker.error ? <p class="warning">Broker not readable: {data.broker.error}</p> : null}
      <section>
        <h2>Throughput, last hour</h2>
        <Chart series={data.series} />
      </section>
      <section>
        <h2>Services</h2>
        <table>
          <thead>
            <tr>
              <th>service</th>
              <th class="num">ready</th>
              <th class="num">unacked</th>
              <th class="num">consumers</th>
              <th class="num">publish/s</th>
              <th class="num">deliver/s</th>
              <th class="num">ack/s</th>
              <th class="num">tasks/min 1 h</th>
              <th class="num">failed 1 h</th>
              <th class="num">tasks/min 24 h</th>
              <th class="num">failed 24 h</th>
              <th class="num">dead letters</th>
            </tr>
          </thead>
          <tbody>
            {services.map((service) => {
              const q = queues.get(service);
              const t = byService.get(service);
              return (
                <tr>
                  <td>
                    <a href={`${ctx.base}/tasks?service=${encodeURIComponent(service)}`}>{service}</a>
                  </td>
                  <td class="num">{count(q?.ready)}</td>
                  <td class="num">{count(q?.unacked)}</td>
                  <td class="num">{count(q?.consumers)}</td>
                  <td class="num">{rate(q?.rates?.publish)}</td>
                  <td class="num">{rate(q?.rates?.deliver)}</td>
                  <td class="num">{rate(q?.rates?.ack)}</td>
                  <td class="num">{t ? rate(t.hour.perMinute) : "-"}</td>
                  <td class="num">{t ? percent(t.hour.failureRate) : "-"}</td>
                  <td class="num">{t ? rate(t.day.perMinute) : "-"}</td>
                  <td class="num">{t ? percent(t.day.failureRate) : "-"}</td>
                  <td class="num">
                    <a href={`${ctx.base}/dead-letters/${encodeURIComponent(service)}`}>
                      {count(q?.deadLetters)}
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p class="note">Broker figures sampled {time(data.broker.at)} UTC (management API).</p>
      </section>
      <section>
        <h2>Alarms</h2>
        {data.broker.alarms.length === 0 ? (
          <Empty>No alarm: every queue is within the monitor's thresholds.</Empty>
        ) : (
          <ul class="alarms">
            {data.broker.alarms.map((alarm) => (
              <li>
                <strong>{alarm.kind}</strong> {alarm.message}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h2>Dead letters by reason</h2>
        <DeadLetterReasons ctx={ctx} summaries={data.deadLetters} />
      </section>
    </Layout>
  );
}

export function DeadLetterReasons(props: { ctx: PageContext; summaries: DeadLetterSummary[] }) {
  const rows = props.summaries.flatMap((summary) => summary.byReason.map((entry) => ({ summary, ...entry })));
  if (rows.length === 0) return <Empty>No dead letters.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>service</th>
          <th>reason</th>
          <th class="num">count</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr>
            <td>
              <a href={`${props.ctx.base}/dead-letters/${encodeURIComponent(row.summary.service)}`}>
                {row.summary.service}
              </a>
            </td>
            <td>{row.reason}</td>
            <td class="num">
              {count(row.count)}
              {row.summary.inspected < row.summary.total ? ` (of the first ${row.summary.inspected})` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Succeeded (stacked under failed) per bucket, as inline SVG: no script, no external asset. */
function Chart(props: { series: ThroughputBucket[] }) {
  const width = 720;
  const height = 120;
  const n = Math.max(1, props.series.length);
  const max = Math.max(1, ...props.series.map((b) => b.succeeded + b.failed));
  const bar = width / n;
  const scale = (value: number) => (value / max) * (height - 14);
  const total = props.series.reduce((sum, b) => sum + b.succeeded + b.failed, 0);
  const failed = props.series.reduce((sum, b) => sum + b.failed, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${total} tasks finished, ${failed} failed`}
      >
        {props.series.map((bucket, index) => {
          const ok = scale(bucket.succeeded);
          const bad = scale(bucket.failed);
          const x = index * bar + 1;
          return (
            <g>
              <title>{`${time(bucket.start)}: ${bucket.succeeded} succeeded, ${bucket.failed} failed`}</title>
              <rect class="ok" x={x} y={height - ok} width={bar - 2} height={ok} />
              <rect class="bad" x={x} y={height - ok - bad} width={bar - 2} height={bad} />
            </g>
          );
        })}
        <text x="4" y="11" class="axis">
          {`max ${max}/bucket`}
        </text>
      </svg>
      <figcaption>
        <span class="key ok">■</span> succeeded <span class="key bad">■</span> failed — {count(total)}{" "}
        finished, {count(failed)} failed
      </figcaption>
    </figure>
  );
}
