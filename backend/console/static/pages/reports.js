/* 报表: the command centre's reports (GET /api/v1/reports/daily|weekly|monthly) as tables, with a
 * period picker and the Excel workbook of the same period to download. The route keeps the choice:
 * #/reports/<daily|weekly|monthly>/<2026-11-03 | 2026-W45 | 2026-11>. */
"use strict";

(() => {
  const { el, fill, label } = Console;
  const KINDS = {
    daily: { param: "date", input: "date", title: "日监控" },
    weekly: { param: "week", input: "week", title: "周通报" },
    monthly: { param: "month", input: "month", title: "月考评" },
  };
  // [heading, key, unit]: the figures of every unit, as in the workbook (backend/reports/workbook.py)
  const FIGURES = [
    ["受理工单", "received"], ["合并工单", "merged"], ["到达及时率", "arrival_on_time_pct", "%"],
    ["平均到达时长", "avg_arrival_minutes", "分钟"], ["修复及时率", "restoration_on_time_pct", "%"],
    ["平均修复时长", "avg_restoration_minutes", "分钟"], ["投诉", "complaints"], ["满意度", "satisfaction_avg"],
    ["评价数", "satisfaction_count"],
  ];
  const PER_CUSTOMER = [
    ["用户数", "customers"], ["频繁停电用户", "repeat_outage_customers"], ["万户投诉率", "complaints_per_10k"],
    ["业扩环节按时率", "application_stages_on_time_pct", "%"],
  ];
  let parts = null;
  let shown = null;  // {kind, value} of the report on the page

  const pad = (n) => String(n).padStart(2, "0");
  function today() {  // in Asia/Shanghai, as the service counts days
    const [y, m, d] = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date()).split("-");
    return { y: Number(y), m: Number(m), d: Number(d) };
  }
  function isoWeek({ y, m, d }) {
    const date = new Date(Date.UTC(y, m - 1, d));
    const day = date.getUTCDay() || 7;
    date.setUTCDate(date.getUTCDate() + 4 - day);
    const first = new Date(Date.UTC(date.getUTCFullYear(), 0, 1));
    return `${date.getUTCFullYear()}-W${pad(Math.ceil(((date - first) / 86400000 + 1) / 7))}`;
  }
  function current(kind) {
    const t = today();
    if (kind === "daily") return `${t.y}-${pad(t.m)}-${pad(t.d)}`;
    if (kind === "weekly") return isoWeek(t);
    return `${t.y}-${pad(t.m)}`;
  }

  function mount(element, route) {
    parts = {
      kind: el("select", { id: "report-kind", onchange: () => { parts.value.type = KINDS[parts.kind.value].input; parts.value.value = current(parts.kind.value); go(); } },
        Object.entries(KINDS).map(([kind, k]) => el("option", { value: kind }, k.title))),
      value: el("input", { id: "report-period", required: true, onchange: go }),
      show: el("button", { type: "button", class: "primary", id: "report-show", onclick: go }, "查询"),
      download: el("a", { class: "button", id: "report-download", download: "" }, "下载Excel报表"),
      title: el("h2", { id: "report-title" }),
      body: el("div", { id: "report-body" }, el("p", { class: "empty" }, "请选择报表周期")),
    };
    element.appendChild(el("div", { class: "page-scroll reports" },
      el("div", { class: "toolbar" }, el("label", {}, "报表 ", parts.kind), el("label", {}, "周期 ", parts.value),
        parts.show, parts.download),
      parts.title, parts.body));
    navigate(route);
  }

  function navigate(route) {
    if (!parts) return;
    const kind = KINDS[route[0]] ? route[0] : "daily";
    parts.kind.value = kind;
    parts.value.type = KINDS[kind].input;
    parts.value.value = route[1] || current(kind);
    load(kind, parts.value.value);
  }

  function go() {
    const kind = parts.kind.value;
    const value = parts.value.value;
    if (!value) { Console.toast("请选择报表周期", true); return; }
    const target = `#/reports/${kind}/${value}`;
    if (location.hash !== target) location.hash = target;  // the shell calls navigate()
    else load(kind, value);
  }

  const url = (kind, value, xlsx) =>
    `/api/v1/reports/${kind}?${KINDS[kind].param}=${encodeURIComponent(value)}${xlsx ? "&format=xlsx" : ""}`;

  async function load(kind, value) {
    shown = { kind, value };
    parts.download.href = url(kind, value, true);
    fill(parts.title, `${KINDS[kind].title}（${value}）`);
    fill(parts.body, el("p", { class: "empty" }, "正在生成报表…"));
    let report;
    try {
      report = await Console.api("GET", url(kind, value, false));
    } catch (error) {
      if (error instanceof Console.SignedOut || !parts) return;
      fill(parts.body, el("p", { class: "empty error" }, error.message));
      return;
    }
    if (!parts || shown.kind !== kind || shown.value !== value) return;  // another period was chosen meanwhile
    show(report);
  }

  const shownValue = (value, suffix = "") => (value === null || value === undefined ? "—" : `${value}${suffix}`);

  function unitTable(id, keys, rows, extra, ranking) {
    const columns = [...FIGURES, ...extra];
    return el("table", { class: "list report", id },
      el("thead", {}, el("tr", {}, ranking ? el("th", {}, "排名") : null, keys.map(([h]) => el("th", {}, h)),
        columns.map(([h, , unit]) => el("th", {}, unit && unit !== "%" ? `${h}（${unit}）` : h)), el("th", {}, "超时次数"))),
      el("tbody", {}, rows.length ? rows.map((row, n) => el("tr", { dataset: { name: row.name || row.county } },
        ranking ? el("td", {}, String(n + 1)) : null,
        keys.map(([, key]) => el("td", {}, row[key] === null || row[key] === undefined ? "—" : String(row[key]))),
        columns.map(([, key, unit]) => el("td", {}, shownValue(row[key], unit === "%" ? "%" : ""))),
        el("td", {}, String(Object.values(row.breaches || {}).reduce((a, b) => a + b, 0)))))
        : [el("tr", {}, el("td", { colspan: columns.length + keys.length + 2, class: "empty" }, "本期无数据"))]));
  }

  function figure(value, text) {
    return el("div", { class: "figure" }, el("div", { class: "value" }, value), el("div", { class: "label" }, text));
  }

  function show(report) {
    const o = report.overall;
    const breaches = Object.entries(o.breaches).filter(([, n]) => n > 0)
      .map(([standard, n]) => `${label("standard", standard)}超时${n}次`);
    const cells = report.grid_cells.map((c) => ({ ...c, cell: c.name }));
    const cellName = Object.fromEntries(report.grid_cells.map((c) => [c.code, c.name]));
    const workers = report.workers.map((w) => ({ ...w, cell: cellName[w.grid_cell_code] || "—" }));
    const blocks = [
      el("div", { class: "board wide", id: "report-overall" },
        figure(String(o.received), "受理工单"), figure(shownValue(o.arrival_on_time_pct, "%"), "到达及时率"),
        figure(shownValue(o.restoration_on_time_pct, "%"), "修复及时率"), figure(String(o.complaints), "投诉"),
        figure(shownValue(o.satisfaction_avg), "满意度均分"), figure(String(o.repeat_outage_customers), "频繁停电用户"),
        figure(shownValue(report.pushes.failed), "推送失败"),
        figure(shownValue(report.conversations.containment_pct, "%"), "智能客服独立解决率")),
      el("p", { class: "note" }, `${report.period.complete ? "" : "本期尚未结束，数据截至当前；"}` +
        `服务时限超时：${breaches.join("，") || "无"}；生成于 ${Console.time(report.generated_at)}`),
      el("h3", {}, "各县公司"), unitTable("report-counties", [["县公司", "county"]], report.counties, PER_CUSTOMER, false),
      el("h3", {}, "各网格"), unitTable("report-cells", [["网格", "name"], ["县公司", "county"]], cells, PER_CUSTOMER, false),
      el("h3", {}, "各网格员"), unitTable("report-workers", [["网格员", "name"], ["网格", "cell"]], workers, [], false),
    ];
    if (report.rankings) {
      const order = (rows, codes) => codes.map((code) => rows.find((r) => r.code === code)).filter(Boolean);
      blocks.push(
        el("h3", {}, "网格排名"), unitTable("report-cell-ranking", [["网格", "name"]], order(cells, report.rankings.grid_cells), PER_CUSTOMER, true),
        el("h3", {}, "网格员排名"), unitTable("report-worker-ranking", [["网格员", "name"]], order(workers, report.rankings.workers), [], true),
        el("p", { class: "note" }, "排名依次按到达及时率、修复及时率、满意度、万户投诉率（越低越好）"));
    }
    fill(parts.body, blocks);
  }

  Console.register({
    id: "reports", title: "报表", roles: ["dispatcher", "supervisor", "admin"],
    mount, navigate, unmount: () => { parts = null; },
  });
})();
