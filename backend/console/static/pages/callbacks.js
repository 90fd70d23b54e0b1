/* 回电任务: callbacks promised to customers, soonest deadline first. */
"use strict";

(() => {
  const { el, api } = Console;
  let body = null;

  function mount(element) {
    body = el("tbody", { id: "callback-rows" });
    element.appendChild(el("div", { class: "page-scroll" },
      el("table", { class: "list" },
        el("thead", {}, el("tr", {}, ["回电号码", "户号", "事由", "联系时限", "渠道", ""].map((h) => el("th", {}, h)))),
        body)));
  }

  function onTopic(name, tasks) {
    if (!body) return;
    Console.fill(body, ...(tasks.length ? tasks.map(row)
      : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "暂无待回电的客户"))]));
  }

  function row(task) {
    const done = Console.canTake() ? el("button", { type: "button", onclick: () => complete(task) }, "已回电") : null;
    return el("tr", { class: task.overdue ? "overdue" : "" },
      el("td", {}, task.phone), el("td", {}, task.account_no ? `${task.account_no.slice(0, 4)}****${task.account_no.slice(-2)}` : "—"),
      el("td", {}, task.reason), el("td", {}, `${Console.time(task.contact_deadline)}${task.overdue ? "（已超时）" : ""}`),
      el("td", {}, Console.label("channel", task.channel)), el("td", {}, done));
  }

  async function complete(task) {
    const values = await Console.ask({ title: `回电 ${task.phone}`, submit: "完成",
      fields: [{ name: "note", label: "沟通结果", type: "textarea", maxlength: 500, required: true }] });
    if (!values) return;
    try {
      await api("POST", `/api/v1/callbacks/${task.id}/done`, values);
      Console.toast("已记录回电结果");
    } catch (error) {
      if (!(error instanceof Console.SignedOut)) Console.toast(error.message, true);
    }
  }

  Console.register({
    id: "callbacks", title: "回电任务", roles: ["agent", "supervisor", "admin"],
    mount, unmount: () => { body = null; }, topics: () => ["callbacks"], onTopic,
  });
})();
