// What a report chart shows, and how that becomes an ECharts option (components/Chart.svelte
// draws it). Values arrive the way the core sends them — money as decimal strings
// ("1234.50"), counts, permille (875 = 87.5 %) — and keep that form: `plot` turns them into
// numbers for drawing only; every figure a person reads (tooltip, share of a total) is
// written from the exact value (money() on the string, integer permille, BigInt fen).
import type { ComposeOption } from 'echarts/core';
import type { BarSeriesOption, FunnelSeriesOption, LineSeriesOption, PieSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { t, i18n } from '../i18n/index.svelte';
import { money, toFen } from './format';

export type ChartKind = 'bar' | 'line' | 'stacked' | 'funnel' | 'pie';
export type ValueFormat = 'money' | 'int' | 'permille';
/** Money: a decimal string; int and permille: an integer (or its string); null: none. */
export type ChartValue = string | number | null;
export type Tone = 'accent' | 'danger' | 'warn' | 'ok' | 'ink' | 'muted';

export interface ChartSeries {
  name: string;
  values: ChartValue[];
  /** In a 'bar' or 'stacked' chart, draw this series as a line over the bars (e.g. the net). */
  line?: boolean;
  tone?: Tone;
}

export interface ChartSpec {
  kind: ChartKind;
  /** One per category (period, class, method, stage …); 'pie' and 'funnel' take one series. */
  labels: string[];
  series: ChartSeries[];
  format: ValueFormat;
  /** What the chart shows, for people: its accessible name. */
  title: string;
}

const TONES: Record<Tone, string> = {
  accent: '#1f6feb',
  danger: '#c62828',
  warn: '#d08a1c',
  ok: '#2e7d32',
  ink: '#1f2933',
  muted: '#8a95a3',
};
/** For series without a tone and for the slices of a pie. */
export const PALETTE = ['#1f6feb', '#2e9d6a', '#e3a21a', '#c62828', '#7c4dcc', '#1aa3b8', '#d4589a', '#6b7785', '#8bb23a', '#a0522d'];

/** A report column's kind as a chart's value format (text and dates never get here). */
export function formatOf(kind: string): ValueFormat {
  return kind === 'money' || kind === 'permille' ? kind : 'int';
}

/** For drawing only: money as yuan, permille as percent, counts as they are. */
export function plot(v: ChartValue, format: ValueFormat): number | null {
  if (v === null || v === '') return null;
  if (format === 'money') {
    const fen = toFen(String(v));
    return fen === null ? null : Number(fen) / 100;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return null;
  return format === 'permille' ? n / 10 : n;
}

/** Integer permille as "87.5%", without going through a float. */
export function permilleText(p: number | bigint): string {
  const n = BigInt(p);
  const abs = n < 0n ? -n : n;
  return `${n < 0n ? '-' : ''}${abs / 10n}.${abs % 10n}%`;
}

/** The exact figure, as the tables write it. */
export function valueText(v: ChartValue, format: ValueFormat): string {
  if (v === null || v === '') return '—';
  if (format === 'money') return money(String(v));
  if (format === 'permille') {
    const n = Number(v);
    return Number.isInteger(n) ? permilleText(n) : String(v);
  }
  return String(v);
}

/** The value as an exact integer (fen for money), for shares of a total. */
function exact(v: ChartValue, format: ValueFormat): bigint | null {
  if (v === null || v === '') return null;
  if (format === 'money') return toFen(String(v));
  const n = Number(v);
  return Number.isInteger(n) ? BigInt(n) : null;
}

/** part / whole in permille, half up; null when the whole is not positive. */
export function share(part: bigint, whole: bigint): bigint | null {
  if (whole <= 0n) return null;
  return (part * 2000n + whole) / (2n * whole);
}

/** An axis tick the way the reader counts: 2万 in Chinese, 20k in English. */
function tick(n: number, format: ValueFormat): string {
  const locale = i18n.lang;
  if (format === 'permille') return `${n.toLocaleString(locale)}%`;
  const big = Number(t('chart.big_divisor'));
  if (big > 0 && Math.abs(n) >= big) return t('chart.big', { n: (n / big).toLocaleString(locale, { maximumFractionDigits: 1 }) });
  return n.toLocaleString(locale);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type Option = ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | FunnelSeriesOption
  | PieSeriesOption
  | GridComponentOption
  | LegendComponentOption
  | TooltipComponentOption
>;

/** What a tooltip's formatter receives, as far as we read it. */
interface TipParam {
  seriesIndex?: number;
  dataIndex: number;
  marker?: unknown;
  seriesName?: string;
  name: string;
}

/** `font` is a CSS font-family list (the page's). */
export function buildOption(spec: ChartSpec, fontFamily: string): Option {
  const { kind, labels, series, format } = spec;
  // Single quotes only: the SVG renderer writes the family inside a double-quoted attribute.
  const font = fontFamily.replace(/"/g, "'");
  const textStyle = { fontFamily: font, fontSize: 11, color: '#4b5563' };
  const color = (s: ChartSeries, i: number) => (s.tone ? TONES[s.tone] : PALETTE[i % PALETTE.length]);
  const tooltipBase: TooltipComponentOption = {
    confine: true,
    textStyle: { fontFamily: font, fontSize: 12 },
    padding: [4, 8],
  };
  // No "save as picture": the desk's window has no download to save it to, and a report
  // leaves the desk as its PDF or CSV.
  const base = { animation: false, backgroundColor: '#ffffff', textStyle, color: PALETTE };

  if (kind === 'pie' || kind === 'funnel') {
    const s = series[0] ?? { name: spec.title, values: [] };
    const items = labels
      .map((name, i) => ({ name, i, raw: s.values[i] ?? null, value: plot(s.values[i] ?? null, format) }))
      .filter((x) => x.value !== null && (kind === 'funnel' || x.value > 0));
    const whole = kind === 'pie' ? items.reduce((sum, x) => sum + (exact(x.raw, format) ?? 0n), 0n) : (exact(items[0]?.raw ?? null, format) ?? 0n);
    const tooltip: TooltipComponentOption = {
      ...tooltipBase,
      trigger: 'item',
      formatter: (p: unknown) => {
        const { dataIndex, marker } = p as TipParam;
        const x = items[dataIndex];
        if (!x) return '';
        const part = exact(x.raw, format);
        const pm = part === null ? null : share(part, whole);
        let text = `${String(marker ?? '')}${esc(x.name)}&nbsp;&nbsp;<b>${esc(valueText(x.raw, format))}</b>`;
        if (pm !== null) {
          text += kind === 'pie'
            ? `&nbsp;(${esc(permilleText(pm))})`
            : `<br/>${esc(t('chart.of_first', { p: permilleText(pm), first: items[0].name }))}`;
        }
        return text;
      },
    };
    if (kind === 'pie') {
      // The legend names each slice with its exact share; the slices carry no labels.
      const legendText = (name: string) => {
        const x = items.find((y) => y.name === name);
        const part = x ? exact(x.raw, format) : null;
        const pm = part === null ? null : share(part, whole);
        return pm === null ? name : `${name}  ${permilleText(pm)}`;
      };
      return {
        ...base,
        tooltip,
        legend: { type: 'scroll', orient: 'vertical', left: 0, top: 'middle', textStyle: { ...textStyle, width: 130, overflow: 'truncate' }, itemWidth: 10, itemHeight: 10, itemGap: 8, formatter: legendText },
        series: [
          {
            type: 'pie',
            name: s.name,
            radius: ['42%', '76%'],
            center: ['70%', '54%'],
            label: { show: false },
            labelLine: { show: false },
            data: items.map((x) => ({ name: x.name, value: x.value ?? 0 })),
          },
        ],
      };
    }
    const max = Math.max(0, ...items.map((x) => x.value ?? 0));
    return {
      ...base,
      tooltip,
      series: [
        {
          type: 'funnel',
          name: s.name,
          sort: 'none',
          // Shapes to scale on the left, their figures beside them (a narrow stage's
          // label would not fit inside it).
          left: 4,
          width: '56%',
          top: 22,
          bottom: 6,
          min: 0,
          max: max || 1,
          minSize: '4%',
          gap: 2,
          labelLine: { length: 12, lineStyle: { color: '#9ca3af' } },
          label: {
            position: 'right',
            fontFamily: font,
            fontSize: 12,
            color: '#1f2933',
            formatter: (p: unknown) => {
              const i = (p as TipParam).dataIndex;
              const x = items[i];
              if (!x) return '';
              const part = exact(x.raw, format);
              const pm = i > 0 && part !== null ? share(part, whole) : null;
              return `${x.name}  ${valueText(x.raw, format)}${pm === null ? '' : `  (${permilleText(pm)})`}`;
            },
          },
          data: items.map((x) => ({ name: x.name, value: x.value ?? 0 })),
        },
      ],
    };
  }

  // Categories along x: bars, lines, stacked bars (with any series as a line over them).
  const axisTip: TooltipComponentOption = {
    ...tooltipBase,
    trigger: 'axis',
    axisPointer: { type: kind === 'line' ? 'line' : 'shadow' },
    formatter: (p: unknown) => {
      const list = (Array.isArray(p) ? p : [p]) as TipParam[];
      if (!list.length) return '';
      const i = list[0].dataIndex;
      const rows = list.map((x) => {
        const s = series[x.seriesIndex ?? 0];
        return `${String(x.marker ?? '')}${esc(s?.name ?? '')}&nbsp;&nbsp;<b>${esc(valueText(s?.values[i] ?? null, format))}</b>`;
      });
      return [`<b>${esc(labels[i] ?? '')}</b>`, ...rows].join('<br/>');
    },
  };
  const several = series.length > 1;
  return {
    ...base,
    tooltip: axisTip,
    legend: several ? { left: 0, top: 0, textStyle, itemWidth: 12, itemHeight: 8, itemGap: 10 } : undefined,
    grid: { left: 4, right: 8, top: several ? 28 : 22, bottom: 8 },
    xAxis: {
      type: 'category',
      data: labels,
      axisTick: { alignWithLabel: true },
      axisLabel: { fontFamily: font, fontSize: 11, color: '#4b5563', hideOverlap: true },
      axisLine: { lineStyle: { color: '#9ca3af' } },
    },
    yAxis: {
      type: 'value',
      splitNumber: 4,
      axisLabel: { fontFamily: font, fontSize: 11, color: '#4b5563', formatter: (n: number) => tick(n, format) },
      splitLine: { lineStyle: { color: '#eceff3' } },
    },
    series: series.map((s, i): BarSeriesOption | LineSeriesOption => {
      const data = s.values.map((v) => plot(v, format));
      const c = color(s, i);
      if (kind === 'line' || s.line) {
        return {
          type: 'line',
          name: s.name,
          data,
          z: 3,
          symbolSize: labels.length > 40 ? 0 : 5,
          showSymbol: labels.length <= 40,
          connectNulls: false,
          itemStyle: { color: c },
          lineStyle: { color: c, width: 2 },
          areaStyle: kind === 'line' && !several ? { color: c, opacity: 0.08 } : undefined,
        };
      }
      return {
        type: 'bar',
        name: s.name,
        data,
        stack: kind === 'stacked' ? 'all' : undefined,
        stackStrategy: 'samesign',
        barMaxWidth: 28,
        itemStyle: { color: c },
      };
    }),
  };
}
