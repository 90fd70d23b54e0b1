/* 调度监控: the command centre's live view. Everything comes whole on the `live` topic (the overview
 * of backend/live/service.py, read again by the stream every two seconds): open tickets by status
 * and grid cell, outages and the customers they cover, the feeders and their transformers coloured
 * by outage state, deadlines about to break and broken, workers on duty, the storm indicator and
 * the pushes that failed for good. Charts are Apache ECharts (vendor/echarts), drawn on canvas and
 * loaded when the page first opens (no other page needs them); every figure a chart shows is also in
 * a table or a line of text next to it, so the page works before and without them. */
"use strict";

(() => {
  const { el, fill, label } = Console;
  const COLOURS = { outage: "#c53030", suspected: "#dd6b20", restored: "#2f855a", normal: "#8fa3b8" };
  const STATUSES = ["received", "dispatched", "accepted", "arrived"];
  const HISTORY = 60;  // points of the report-rate line (one per update, about two minutes)
  const ECHARTS = "/console/static/vendor/echarts/echarts.min.js";
  let parts = null;
  let charts = null;  // once ECharts has loaded: {status, rate, grid}
  let latest = null;  // the last overview shown, drawn again when the charts arrive
  let rates = [];  // [[time label, reports in the last minute, usual per minute], ...]

  const chart = (node) => echarts.init(node, null, { renderer: "canvas" });

  function loadCharts() {
    const mounted = parts;
    Console.script(ECHARTS).then(() => {
      if (parts !== mounted) return;  // the page was left meanwhile
      charts = { status: chart(parts.statusChart), rate: chart(parts.rateChart), grid: chart(parts.gridChart) };
      if (latest) draw(latest);
    }, () => {
      if (parts === mounted) Console.toast("图表未能加载，各项数据请看下方表格", true);
    });
  }

  function section(title, ...children) {
    return el("section", { class: "panel" }, el("h2", {}, title), ...children);
  }

  function table(id, headings) {
    const body = el("tbody", { id });
    return [el("table", { class: "list" }, el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))), body), body];
  }

  function mount(element) {
    const [cellTable, cellRows] = table("live-cell-rows", ["网格", "在办合计", ...STATUSES.map((s) => label("ticketStatus", s))]);
    const [outageTable, outageRows] = table("live-outage-rows", ["状态", "类型", "来源", "停电范围", "原因", "影响客户", "开始", "预计恢复"]);
    const [deadlineTable, deadlineRows] = table("live-deadline-rows", ["", "工单号", "时限", "截止时间", "剩余", "网格员"]);
    const [workerTable, workerRows] = table("live-worker-rows", ["网格员", "网格", "在办任务", "承载力", "负荷"]);
    const [deadTable, deadRows] = table("live-dead-rows", ["时间", "发送对象", "尝试次数", "失败原因"]);
    parts = {
      board: el("div", { class: "board wide", id: "live-board" }),
      statusChart: el("div", { class: "chart", id: "live-status-chart" }),
      rateChart: el("div", { class: "chart", id: "live-rate-chart" }),
      gridChart: el("div", { class: "chart tall", id: "live-grid-chart" }),
      gridSummary: el("p", { class: "note", id: "live-grid-summary" }),
      storm: el("p", { class: "note", id: "live-storm" }),
      lastHour: el("p", { class: "note", id: "live-last-hour" }),
      updated: el("p", { class: "note", id: "live-updated" }, "正在连接实时数据…"),
      cellRows, outageRows, deadlineRows, workerRows, deadRows,
    };
    const legend = el("div", { class: "legend" }, Object.keys(COLOURS).map((state) =>
      el("span", { class: `swatch ${state}` }, label("gridState", state))));
    element.appendChild(el("div", { class: "page-scroll dispatch" },
      parts.board, parts.updated,
      el("div", { class: "charts" },
        section("在办工单（按状态）", parts.statusChart),
        section("报修速率（每分钟）", parts.rateChart, parts.storm)),
      section("线路与台区运行状态", legend, parts.gridChart, parts.gridSummary),
      section("停电事件", outageTable),
      section("时限预警", deadlineTable, parts.lastHour),
      el("div", { class: "charts" }, section("各网格在办工单", cellTable), section("在岗网格员", workerTable)),
      section("发送失败的推送", deadTable)));
    charts = null;
    latest = null;
    rates = [];
    window.addEventListener("resize", resize);
    loadCharts();
  }

  function resize() { if (charts) for (const c of Object.values(charts)) c.resize(); }

  function unmount() {
    window.removeEventListener("resize", resize);
    if (charts) for (const c of Object.values(charts)) c.dispose();
    charts = null;
    latest = null;
    parts = null;
  }

  function figure(id, value, text, alarm) {
    return el("div", { class: alarm ? "figure alarm" : "figure", id },
      el("div", { class: "value" }, value), el("div", { class: "label" }, text));
  }

  const empty = (columns, text) => [el("tr", {}, el("td", { colspan: columns, class: "empty" }, text))];
  const clockTime = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const minutes = (value) => (value < 0 ? `已超${Math.round(-value)}分钟` : `${Math.round(value)}分钟`);

  function onTopic(name, data) {
    if (!parts || name !== "live") return;
    const outages = data.outages;
    const out = outages.filter((o) => o.status !== "suspected");
    const suspected = outages.filter((o) => o.status === "suspected");
    const covered = outages.reduce((sum, o) => sum + o.customers, 0);
    const storm = data.storm;
    fill(parts.board,
      figure("live-open", String(data.tickets.open), "在办工单"),
      figure("live-outages", String(out.length), "停电事件", out.length > 0),
      figure("live-suspected", String(suspected.length), "疑似停电", suspected.length > 0),
      figure("live-covered", String(covered), "影响客户（户）"),
      figure("live-due-soon", String(data.deadlines.due_soon_count), "30分钟内将超时", data.deadlines.due_soon_count > 0),
      figure("live-broken", String(data.deadlines.broken_count), "已超时", data.deadlines.broken_count > 0),
      figure("live-rate", `${storm.reports_last_minute}次/分`, storm.storm ? "报修激增" : "报修速率", storm.storm),
      figure("live-dead", String(data.dead_letters.count), "推送失败", data.dead_letters.count > 0));
    fill(parts.updated, `数据更新于 ${Console.time(data.at)}（每2秒刷新）`);
    latest = data;
    rates.push([clockTime.format(new Date(data.at)), storm.reports_last_minute, storm.usual_per_minute]);
    if (rates.length > HISTORY) rates.shift();
    showCells(data.tickets);
    showStorm(storm);
    showGridSummary(data.grid);
    if (charts) draw(data);
    showOutages(outages);
    showDeadlines(data.deadlines);
    showWorkers(data.workers);
    showDeadLetters(data.dead_letters);
  }

  function draw(data) {
    drawStatuses(data.tickets);
    drawRate(data.storm);
    drawGrid(data.grid);
  }

  function drawStatuses(tickets) {
    charts.status.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 16, bottom: 28 },
      xAxis: { type: "category", data: STATUSES.map((s) => label("ticketStatus", s)) },
      yAxis: { type: "value", minInterval: 1 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      series: [{ type: "bar", name: "在办工单", data: STATUSES.map((s) => tickets.by_status[s] || 0),
                 itemStyle: { color: "#1f5f9e" }, label: { show: true, position: "top" } }],
    });
  }

  function showCells(tickets) {
    fill(parts.cellRows, tickets.by_grid_cell.length ? tickets.by_grid_cell.map((cell) => el("tr", {},
      el("td", {}, cell.name), el("td", {}, String(cell.open)),
      STATUSES.map((s) => el("td", {}, String(cell.by_status[s] || 0))))) : empty(6, "当前没有在办工单"));
  }

  function showStorm(storm) {
    const usual = storm.usual_per_minute;
    fill(parts.storm, storm.storm
      ? `报修激增：近1分钟${storm.reports_last_minute}次，是平时（每分钟${usual}次）的${storm.ratio === null ? "多" : storm.ratio}倍`
      : `近1分钟报修${storm.reports_last_minute}次，平时每分钟${usual}次`);
    parts.storm.className = storm.storm ? "note alarm-text" : "note";
  }

  function drawRate(storm) {
    charts.rate.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 24, bottom: 28 },
      legend: { data: ["近1分钟报修", "平时"], top: 0 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: rates.map((r) => r[0]) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { type: "line", name: "近1分钟报修", data: rates.map((r) => r[1]), showSymbol: rates.length < 3,
          itemStyle: { color: storm.storm ? COLOURS.outage : "#1f5f9e" }, areaStyle: { opacity: 0.15 } },
        { type: "line", name: "平时", data: rates.map((r) => r[2]), showSymbol: false,
          lineStyle: { type: "dashed" }, itemStyle: { color: "#7b8794" } },
      ],
    });
  }

  function drawGrid(feeders) {
    const node = (item, children) => ({
      name: item.name, value: label("gridState", item.state), state: item.state,
      itemStyle: { color: COLOURS[item.state], borderColor: COLOURS[item.state] },
      label: { color: item.state === "normal" ? "#3e4c59" : COLOURS[item.state] },
      children,
    });
    const transformers = feeders.reduce((n, f) => n + f.transformers.length, 0);
    parts.gridChart.classList.toggle("huge", transformers > 40);
    charts.grid.resize();
    charts.grid.setOption({
      animation: false,
      tooltip: { renderMode: "richText", formatter: (p) => `${p.name}：${p.value}` },
      series: [{
        type: "tree", orient: "LR", top: 8, bottom: 8, left: 80, right: 120, symbol: "circle", symbolSize: 12,
        initialTreeDepth: -1, expandAndCollapse: false, roam: false,
        label: { position: "left", verticalAlign: "middle", align: "right", fontSize: 12 },
        leaves: { label: { position: "right", align: "left" } },
        lineStyle: { color: "#cbd2d9" },
        data: [{ name: "配电网", itemStyle: { color: "#1f5f9e" }, value: "",
                 children: feeders.map((f) => node(f, f.transformers.map((t) => node(t)))) }],
      }],
    }, { replaceMerge: ["series"] });
  }

  function showGridSummary(feeders) {
    const troubled = [];
    for (const f of feeders) {
      if (f.state !== "normal") troubled.push([f.state, `${f.name}（全线）`]);
      for (const t of f.transformers) if (t.state !== "normal" && t.state !== f.state) troubled.push([t.state, t.name]);
    }
    const lines = ["outage", "suspected", "restored"].map((state) => {
      const names = troubled.filter(([s]) => s === state).map(([, n]) => n);
      return names.length ? el("span", { class: `state-line ${state}` }, `${label("gridState", state)}：${names.join("、")}`) : null;
    }).filter(Boolean);
    fill(parts.gridSummary, lines.length ? lines : "全部线路和台区运行正常");
  }

  function showOutages(outages) {
    fill(parts.outageRows, outages.length ? outages.map((o) => el("tr", { class: o.status === "suspected" ? "suspected" : "outage" },
      el("td", {}, el("span", { class: `badge ${o.status === "suspected" ? "suspected" : "outage"}` }, label("outageStatus", o.status))),
      el("td", {}, label("outageKind", o.kind)), el("td", {}, label("outageSource", o.source)),
      el("td", {}, [...o.feeders.map((f) => `${f}（全线）`), ...o.transformers].join("、") || "部分客户"),
      el("td", {}, o.cause), el("td", {}, String(o.customers)),
      el("td", {}, Console.time(o.starts_at)), el("td", {}, Console.time(o.estimated_restore_at))))
      : empty(8, "当前没有停电事件"));
  }

  function showDeadlines(deadlines) {
    const row = (d, broken) => el("tr", { class: broken ? "overdue" : "" },
      el("td", {}, broken ? "已超时" : "即将超时"), el("td", {}, d.ticket_no), el("td", {}, label("standard", d.standard)),
      el("td", {}, Console.time(d.deadline)), el("td", {}, minutes(d.minutes_left)),
      el("td", {}, d.worker ? d.worker.name : "未派单"));
    const rows = [...deadlines.broken.map((d) => row(d, true)), ...deadlines.due_soon.map((d) => row(d, false))];
    fill(parts.deadlineRows, rows.length ? rows : empty(6, "没有即将超时或已超时的工单"));
    const events = deadlines.last_hour.map((e) => `${label("standard", e.standard)}${label("slaStep", e.step)}${e.count}次`);
    fill(parts.lastHour, `近1小时各项服务时限：${events.join("，") || "无预警、无超时"}`);
  }

  function showWorkers(workers) {
    fill(parts.workerRows, workers.length ? workers.map((w) => el("tr", { class: w.load_pct !== null && w.load_pct >= 100 ? "overdue" : "" },
      el("td", {}, w.supervisor ? `${w.name}（组长）` : w.name), el("td", {}, w.grid_cell_name),
      el("td", {}, String(w.open_tasks)), el("td", {}, String(w.capacity)),
      el("td", {}, w.load_pct === null ? "—" : `${w.load_pct}%`))) : empty(5, "当前没有在岗网格员"));
  }

  /* Each failed push with its reason in plain words (backend/notifications/failures.py); the
   * platforms' own error text stays out of the page (admins read it in GET /api/v1/notifications). */
  function showDeadLetters(dead) {
    fill(parts.deadRows, dead.latest.length ? dead.latest.map((d) => el("tr", {},
      el("td", {}, Console.time(d.created_at)), el("td", {}, label("recipient", d.recipient)),
      el("td", {}, String(d.attempts)), el("td", {}, d.reason))) : empty(4, "没有发送失败的推送"));
  }

  Console.register({
    id: "dispatch", title: "调度监控", roles: ["dispatcher", "supervisor", "admin"], home: ["dispatcher"],
    mount, unmount, topics: () => ["live"], onTopic,
  });
})();
