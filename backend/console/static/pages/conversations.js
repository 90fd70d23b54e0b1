/* 会话: the queue, a conversation, and the customer's records beside it. */
"use strict";

(() => {
  const { el, fill, api, label } = Console;
  const QUICK_REPLIES = [
    "您好，我是人工客服，很高兴为您服务，请问有什么可以帮您？",
    "请您提供一下户号（10位数字）或户主姓名，我帮您查询。",
    "已为您查询到相关信息，请稍等，我为您详细说明。",
    "抢修人员正在赶往现场，请您注意用电安全，远离断落的电线。",
    "给您带来不便，非常抱歉，我们会尽快处理。",
    "请问还有其他可以帮您的吗？",
  ];
  const TEXT_MAX = 300;
  const draftKey = (id) => `pd-console-draft-${id}`;
  const pendingKey = (id) => `pd-console-pending-${id}`;

  let root = null;
  let parts = {};
  let selected = null;        // hand-off id shown
  let items = [];             // the queue topic
  let detail = null;          // the selected hand-off topic
  let knownWaiting = null;    // ids seen waiting (null until the first queue arrives)
  let ticker = null;
  let composerFor = null;     // "<id>:<can reply>" the composer was built for

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    return "r" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function maskPhone(value) {
    return /^1\d{10}$/.test(value) ? `${value.slice(0, 3)}****${value.slice(-4)}` : value;
  }

  function who(item) {
    const customer = item.customer;
    if (customer && customer.name) return customer.name;
    return item.channel === "sms" ? maskPhone(item.sender_id) : `${label("channel", item.channel)}客户`;
  }

  function mount(element, route) {
    root = element;
    parts = {
      queue: el("div", { class: "scroll", id: "queue" }),
      head: el("div", { class: "conversation-head", id: "conversation-head" }),
      actions: el("div", { class: "actions", id: "conversation-actions", hidden: true }),
      transcript: el("div", { class: "scroll transcript", id: "transcript" }),
      composer: el("div", { id: "composer" }),
      panel: el("div", { class: "scroll", id: "customer-panel" }),
    };
    root.appendChild(el("div", { class: "workspace" },
      el("section", { class: "column" }, el("h2", {}, "排队与接待"), parts.queue),
      el("section", { class: "column", id: "conversation" }, parts.head, parts.actions, parts.transcript, parts.composer),
      el("section", { class: "column" }, el("h2", {}, "客户信息"), parts.panel)));
    ticker = setInterval(tick, 1000);
    navigate(route);
  }

  function unmount() {
    clearInterval(ticker);
    Console.badge(0);
    root = null;
    knownWaiting = null;
  }

  function navigate(route) {
    const id = Number(route && route[0]) || null;
    if (id === selected && detail) return;
    selected = id;
    detail = null;
    composerFor = null;
    renderQueue();
    renderConversation();
    loadPanel();
    Console.openLive();
  }

  const topics = () => (selected ? ["queue", `handoff:${selected}`] : ["queue"]);

  function onTopic(name, data) {
    if (name === "queue") {
      items = data;
      const waiting = items.filter((i) => i.status === "waiting");
      const arrived = knownWaiting === null ? [] : waiting.filter((i) => !knownWaiting.has(i.id));
      knownWaiting = new Set(waiting.map((i) => i.id));
      Console.badge(waiting.length);
      if (arrived.length) Console.chime();
      renderQueue(new Set(arrived.map((i) => i.id)));
    } else if (name === `handoff:${selected}`) {
      detail = data;
      renderConversation();
    }
  }

  function resume() { loadPanel(); }

  /* --- the queue ------------------------------------------------------------------------------ */

  function renderQueue(arrived = new Set()) {
    if (!root) return;
    const waiting = items.filter((i) => i.status === "waiting");
    const active = items.filter((i) => i.status === "active");
    const mine = (i) => Console.me && i.agent && i.agent.username === Console.me.staff.username;
    fill(parts.queue,
      el("div", { class: "section-title" }, `排队中（${waiting.length}）`),
      waiting.length ? waiting.map((i) => queueItem(i, arrived.has(i.id))) : el("div", { class: "empty" }, "暂无排队客户"),
      el("div", { class: "section-title" }, `接待中（${active.length}）`),
      active.length ? [...active.filter(mine), ...active.filter((i) => !mine(i))].map((i) => queueItem(i, false))
        : el("div", { class: "empty" }, "暂无接待中的会话"));
    tick();
  }

  function queueItem(item, isNew) {
    const customer = item.customer || { accounts_masked: [], open_tickets: [], outages: [] };
    const classes = ["queue-item", item.id === selected ? "selected" : "", isNew ? "new" : ""].join(" ");
    return el("div", { class: classes, dataset: { id: item.id }, onclick: () => { location.hash = `#/conversations/${item.id}`; } },
      el("div", { class: "top" },
        el("span", { class: "who" }, who(item)),
        item.status === "waiting"
          ? el("span", { class: "wait", dataset: { since: item.waiting_since } }, "")
          : el("span", { class: "wait" }, item.agent ? item.agent.name : (item.kf_account ? "微信客服" : ""))),
      el("div", { class: "tags" },
        el("span", { class: `tag ${item.channel}` }, label("channel", item.channel)),
        customer.accounts_masked.map((a) => el("span", { class: "tag" }, `户号 ${a}`)),
        customer.outages.map((o) => el("span", { class: "tag outage" }, label("outageKind", o.kind))),
        customer.open_tickets.length ? el("span", { class: "tag ticket" }, `在办工单${customer.open_tickets.length}张`) : null),
      item.reason ? el("div", { class: "reason" }, item.reason) : null);
  }

  function tick() {
    if (!root) return;
    for (const mark of root.querySelectorAll(".wait[data-since]")) {
      const seconds = Console.since(mark.dataset.since);
      mark.textContent = `已等${Console.duration(seconds)}`;
      mark.classList.toggle("long", seconds > 300);
    }
  }

  /* --- the conversation ----------------------------------------------------------------------- */

  const holder = () => detail && detail.agent && Console.me && detail.agent.username === Console.me.staff.username;
  const canReply = () => detail && detail.status === "active" && !detail.kf_account && holder();
  const canAct = () => detail && detail.status === "active" && !detail.kf_account && (holder() || Console.supervises());

  function renderConversation() {
    if (!root) return;
    if (!selected) {
      fill(parts.head, el("span", { class: "note" }, "请从左侧选择一位客户"));
      fill(parts.actions);
      parts.actions.hidden = true;
      fill(parts.transcript);
      fill(parts.composer);
      return;
    }
    if (!detail) {
      fill(parts.head, el("span", { class: "note" }, "正在载入会话…"));
      return;
    }
    const item = items.find((i) => i.id === detail.id);
    fill(parts.head,
      el("span", { class: "title" }, item ? who(item) : who(detail)),
      el("span", { class: `tag ${detail.channel}` }, label("channel", detail.channel)),
      detail.account_masked ? el("span", { class: "tag" }, `户号 ${detail.account_masked}`) : null,
      el("span", { class: "status", id: "conversation-status" }, label("status", detail.status)
        + (detail.agent ? ` · ${detail.agent.name}` : "") + (detail.kf_account ? ` · 微信客服 ${detail.kf_account}` : "")),
      detail.reason ? el("span", { class: "note" }, `诉求：${detail.reason}`) : null);
    renderActions();
    renderTranscript();
    renderComposer();
  }

  function button(text, onclick, cls) {
    return el("button", { type: "button", class: cls, onclick, dataset: { action: text } }, text);
  }

  function renderActions() {
    const buttons = [];
    if (detail.status === "waiting" && Console.canTake()) {
      buttons.push(button("接入", claim, "primary"), button("结束", close));
    }
    if (canAct()) {
      buttons.push(button("转回智能客服", release, "primary"), button("转接", transfer), button("结束", close),
        button("报修", repair), button("投诉", complaint), button("回电", callback));
    }
    fill(parts.actions, buttons);
    parts.actions.hidden = buttons.length === 0;
  }

  function renderTranscript() {
    const atBottom = parts.transcript.scrollTop + parts.transcript.clientHeight >= parts.transcript.scrollHeight - 20;
    const lines = [
      ...detail.transcript.map((t) => ({ at: t.at, node: line(t) })),
      ...detail.timeline.map((e) => ({ at: e.at, node: el("div", { class: "event" },
        `${Console.time(e.at)} ${e.note}`) })),
    ].sort((a, b) => new Date(a.at) - new Date(b.at));
    fill(parts.transcript, lines.map((l) => l.node));
    if (atBottom) parts.transcript.scrollTop = parts.transcript.scrollHeight;
  }

  function line(entry) {
    const whoSaid = entry.from === "customer" ? "客户" : entry.from === "bot" ? "智能客服小电" : entry.agent || "人工客服";
    let delivery = null;
    if (entry.from === "agent" && entry.delivery) {
      const text = entry.delivery === "sent" ? label("delivery", entry.delivery_channel) : label("delivery", entry.delivery);
      delivery = el("span", { class: `delivery ${entry.delivery}` }, text);
    }
    return el("div", { class: `line ${entry.from}` },
      el("span", { class: "meta" }, `${whoSaid} ${Console.time(entry.at)}`), entry.text, delivery);
  }

  function renderComposer() {
    const key = `${detail.id}:${canReply()}`;
    if (key === composerFor) return;  // keep the draft being typed
    composerFor = key;
    if (!canReply()) {
      const note = detail.kf_account ? "该会话由微信客服系统接待，请在微信客服中回复"
        : detail.status === "waiting" ? "接入后即可回复客户"
        : detail.status === "active" ? `该会话由${detail.agent ? detail.agent.name : "其他坐席"}接待`
        : "会话已结束";
      fill(parts.composer, el("div", { class: "readonly-note" }, note));
      return;
    }
    const textarea = el("textarea", { id: "reply-text", maxlength: TEXT_MAX, placeholder: "输入回复，Ctrl+Enter 发送" });
    textarea.value = localStorage.getItem(draftKey(detail.id)) || "";
    const counter = el("span", { class: "counter" });
    const send = el("button", { type: "button", class: "primary", id: "reply-send" }, "发送");
    const update = () => {
      counter.textContent = `${textarea.value.length}/${TEXT_MAX}`;
      counter.classList.toggle("over", textarea.value.length > TEXT_MAX);
      localStorage.setItem(draftKey(detail.id), textarea.value);
    };
    textarea.addEventListener("input", update);
    textarea.addEventListener("keydown", (event) => { if (event.key === "Enter" && event.ctrlKey) sendReply(textarea, send); });
    send.addEventListener("click", () => sendReply(textarea, send));
    const quick = el("div", { class: "quick" }, QUICK_REPLIES.map((text) => el("button", { type: "button", onclick: () => {
      textarea.value = textarea.value ? `${textarea.value}${text}` : text;
      update();
      textarea.focus();
    } }, text.length > 12 ? `${text.slice(0, 12)}…` : text)));
    fill(parts.composer, el("div", { class: "composer" }, quick, textarea,
      el("div", { class: "row" }, counter, send)));
    update();
  }

  async function sendReply(textarea, send) {
    const id = detail.id;
    const text = textarea.value.trim();
    if (!text) return;
    let pending = JSON.parse(localStorage.getItem(pendingKey(id)) || "null");
    if (!pending || pending.text !== text) pending = { text, key: newKey() };
    localStorage.setItem(pendingKey(id), JSON.stringify(pending));  // a retry sends nothing twice
    send.disabled = true;
    try {
      await api("POST", `/api/v1/handoffs/${id}/messages`, { text, client_key: pending.key });
      localStorage.removeItem(pendingKey(id));
      localStorage.removeItem(draftKey(id));
      if (selected === id) textarea.value = "";
      textarea.dispatchEvent(new Event("input"));
    } catch (error) {
      if (error instanceof Console.SignedOut) return;  // the draft stays; sign in and send again
      if (error.status === 409 || error.status === 422) localStorage.removeItem(pendingKey(id));
      Console.toast(`未发送：${error.message}`, true);
    } finally {
      send.disabled = false;
    }
  }

  /* --- actions -------------------------------------------------------------------------------- */

  async function act(request, done) {
    try {
      const answer = await request();
      if (done) Console.toast(done(answer));
      return answer;
    } catch (error) {
      if (!(error instanceof Console.SignedOut)) Console.toast(error.message, true);
      return null;
    }
  }

  const base = () => `/api/v1/handoffs/${detail.id}`;

  function claim() {
    act(() => api("POST", `${base()}/claim`, { agent: Console.me.staff.username }), () => "已接入，请问候客户");
  }

  async function release() {
    const values = await Console.ask({ title: "转回智能客服", submit: "转回",
      fields: [{ name: "summary", label: "处理小结（一句话，客户可见）", maxlength: 100, required: true }] });
    if (values) act(() => api("POST", `${base()}/release`, values), () => "已转回智能客服，客户将收到通知");
  }

  async function close() {
    const values = await Console.ask({ title: "结束会话", submit: "结束",
      fields: [{ name: "summary", label: "处理小结（可不填）", maxlength: 100 }] });
    if (values) act(() => api("POST", `${base()}/close`, { summary: values.summary || null }), () => "会话已结束");
  }

  async function transfer() {
    const overview = await act(() => api("GET", "/api/v1/handoffs/overview"));
    if (!overview) return;
    const others = overview.agents.filter((a) => a.accepting && a.username !== Console.me.staff.username);
    const values = await Console.ask({ title: "转接", submit: "转接", fields: [
      { name: "to", label: "转给", type: "select",
        options: [...others.map((a) => [a.username, `${a.name}（接待${a.conversations}位）`]), ["", "转回排队"]] },
      { name: "note", label: "备注（可不填）", maxlength: 200 },
    ] });
    if (values) {
      act(() => api("POST", `${base()}/transfer`, { to: values.to || null, note: values.note || null }),
        () => (values.to ? "已转接" : "已转回排队"));
    }
  }

  async function repair() {
    const values = await Console.ask({ title: "为客户报修", submit: "提交报修", fields: [
      { name: "kind", label: "类型", type: "select", options: [["repair", "停电报修"], ["hazard", "安全隐患（优先处理）"]] },
      { name: "text", label: "情况描述", type: "textarea", maxlength: 500, required: true },
      { name: "address", label: "地址（户号未知时填写）", maxlength: 200 },
    ] });
    if (!values) return;
    const body = { kind: values.kind, text: values.text, address: values.address || null, client_key: newKey() };
    await act(() => api("POST", `${base()}/repair-reports`, body),
      (a) => (a.ticket_no ? `已创建工单${a.ticket_no}` : "该停电已在处理中，已为客户登记并订阅进度"));
    loadPanel();
  }

  async function complaint() {
    const values = await Console.ask({ title: "登记投诉", submit: "提交投诉",
      fields: [{ name: "text", label: "投诉内容", type: "textarea", maxlength: 1000, required: true }] });
    if (!values) return;
    await act(() => api("POST", `${base()}/complaints`, { text: values.text, client_key: newKey() }),
      (a) => `已登记投诉工单${a.ticket_no}`);
    loadPanel();
  }

  async function callback() {
    const values = await Console.ask({ title: "创建回电任务", submit: "创建", fields: [
      { name: "phone", label: "回电号码", maxlength: 11, required: true, pattern: "1[3-9][0-9]{9}",
        value: detail.channel === "sms" ? detail.sender_id : "" },
      { name: "text", label: "回电事由", type: "textarea", maxlength: 500, required: true },
    ] });
    if (values) {
      act(() => api("POST", `${base()}/callbacks`, values),
        (a) => `已创建回电任务，请于${Console.time(a.contact_deadline)}前联系客户`);
    }
  }

  /* --- the customer's records ----------------------------------------------------------------- */

  async function loadPanel() {
    if (!root) return;
    if (!selected) { fill(parts.panel, el("div", { class: "empty" }, "选择客户后显示其工单、电费和业扩信息")); return; }
    const id = selected;
    const data = await act(() => api("GET", `/api/v1/handoffs/${id}/context`));
    if (!data || id !== selected || !root) return;
    const block = (title, rows, empty) => el("div", { class: "panel-block" }, el("h3", {}, title),
      rows.length ? rows : el("div", { class: "panel-row muted" }, empty));
    const row = (left, right, cls) => el("div", { class: "panel-row" }, el("span", {}, left), el("span", { class: cls || "muted" }, right));
    fill(parts.panel,
      block("客户", data.customers.map((c) => el("div", {},
        row(c.name, `户号 ${c.account_masked}`), row(c.address, ""), row("电话", c.phone_masked))), "未绑定户号的客户"),
      block("停电", data.outages.map((o) => row(`${label("outageKind", o.kind)}：${o.cause}`,
        `预计${Console.time(o.estimated_restore_at)}恢复`, "arrears")), "无影响该客户的停电"),
      block("工单", data.tickets.map((t) => row(`${t.ticket_no} ${label("ticketKind", t.kind)}`,
        `${label("ticketStatus", t.status)}${t.worker_name ? ` · ${t.worker_name}` : ""}`)), "无工单"),
      block("电费", data.bills.map((b) => row(`${b.period} ${b.kwh}千瓦时 ${b.amount.toFixed(2)}元`,
        b.arrears > 0 ? `欠费${b.arrears.toFixed(2)}元` : (b.paid ? "已缴" : "待缴"), b.arrears > 0 ? "arrears" : "muted")), "无账单"),
      block("业扩", data.applications.map((a) => row(`${a.application_no} ${a.stage_label}`,
        label("applicationState", a.state), a.state === "on_time" ? "muted" : "arrears")), "无在办申请"));
  }

  Console.register({
    id: "conversations",
    title: "会话",
    roles: ["agent", "supervisor", "admin", "dispatcher", "manager"],
    mount, unmount, navigate, topics, onTopic, resume,
  });
})();
