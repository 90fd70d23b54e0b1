/* 值班监控: agents online, conversations per agent, how long customers wait. */
"use strict";

(() => {
  const { el } = Console;
  let parts = null;

  function mount(element) {
    parts = { board: el("div", { class: "board" }), agents: el("tbody", { id: "agent-rows" }), waits: el("div") };
    element.appendChild(el("div", { class: "page-scroll" }, parts.board,
      el("table", { class: "list" },
        el("thead", {}, el("tr", {}, ["坐席", "岗位", "状态", "接待中会话"].map((h) => el("th", {}, h)))), parts.agents),
      parts.waits));
  }

  function figure(value, text, alarm) {
    return el("div", { class: alarm ? "figure alarm" : "figure" }, el("div", { class: "value" }, value), el("div", { class: "label" }, text));
  }

  function onTopic(name, data) {
    if (!parts) return;
    const limit = data.alert_after_minutes * 60;
    const longest = data.longest_wait_seconds;
    Console.fill(parts.board,
      figure(String(data.agents_online), "在线接待坐席", data.agents_online === 0 && data.waiting > 0),
      figure(String(data.waiting), "排队客户"),
      figure(longest === null ? "—" : Console.duration(longest), "最长等待", longest !== null && longest > limit),
      figure(`${data.average_handle_minutes}分钟`, "近期平均处理时长"));
    Console.fill(parts.agents, ...(data.agents.length ? data.agents.map((a) => el("tr", {},
      el("td", {}, a.name), el("td", {}, Console.label("role", a.role)),
      el("td", {}, a.accepting ? "接待中" : "小休"), el("td", {}, String(a.conversations))))
      : [el("tr", {}, el("td", { colspan: 4, class: "empty" }, "当前没有坐席在线"))]));
    const over = data.waits.filter((s) => s > limit).length;
    Console.fill(parts.waits, el("p", { class: "note" },
      `排队等待：${data.waits.map((s) => Console.duration(s)).join("、") || "无"}` +
      (over ? `；其中${over}位超过${data.alert_after_minutes}分钟，已通知值班长` : "")));
  }

  Console.register({
    id: "supervision", title: "值班监控", roles: ["supervisor", "admin"],
    mount, unmount: () => { parts = null; }, topics: () => ["overview"], onTopic,
  });
})();
