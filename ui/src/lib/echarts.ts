// ECharts, tree-shaken: only the charts, components and renderer the reports draw.
// Bundled with the app (a chunk of its own, loaded when a chart first shows), so the
// desk never needs the network for a chart. Used only by components/Chart.svelte.
import { use, init } from 'echarts/core';
import { BarChart, FunnelChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

use([BarChart, LineChart, FunnelChart, PieChart, GridComponent, TooltipComponent, LegendComponent, SVGRenderer]);

export { init };
