/* The console's shell: sign-in, navigation by role, the API helper, the live stream, and the little
 * things every page shares (labels, times, dialogs, the title badge).
 *
 * Adding a page: write static/pages/<page>.js calling
 *
 *   Console.register({
 *     id: "dispatch", title: "调度监控", roles: ["dispatcher", "supervisor", "admin"],
 *     home: ["dispatcher"],                  // optional: the roles that land on it after signing in
 *     topics: () => ["live"],                // live topics it shows (backend/console/topics.py)
 *     mount(element, route) { ... },         // build the page in `element`; route = the hash's rest
 *     onTopic(name, data) { ... },           // a topic's new state, whole
 *     unmount() { ... },                     // optional
 *   });
 *
 * add its <script> to index.html, and register its topics on the server. The shell shows a page
 * only to the roles it names (the API checks the same roles again). A large library only some pages
 * use (the charts' ECharts) is not in index.html: the page asks for it when it opens, with
 * `Console.script(src)`, which adds its <script> once and resolves when it has run.
 *
 * Everything people typed is shown with textContent (Console.el never parses HTML), so no message
 * can run script in an agent's page.
 */
"use strict";

const Console = (() => {
  const pages = [];
  let me = null;            // {staff, csrf_token, expires_at}
  let current = null;       // the mounted page
  let source = null;        // the live EventSource
  let liveTopics = "";
  const $ = (id) => document.getElementById(id);

  class SignedOut extends Error {}
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  /* --- DOM and text ---------------------------------------------------------------------------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const labels = {
    channel: { wechat: "微信", sms: "短信", rest: "在线", web: "网页", phone: "电话", wecom: "企业微信" },
    status: {
      waiting: "排队中", active: "接待中", released: "已转回智能客服", closed: "已结束", cancelled: "客户已取消",
      unavailable: "未能转接", manager: "已转客户经理",
    },
    role: { agent: "坐席", supervisor: "值班长", dispatcher: "调度员", manager: "客户经理", admin: "管理员" },
    delivery: {
      pending: "发送中…", failed: "发送失败，请改用回电或稍后再试",
      wechat_cs: "已送达（微信客服消息）", wechat_template: "已送达（微信模板消息，客户仅见前20字）",
      sms: "已送达（短信）", wecom: "已送达（企业微信）",
    },
    ticketStatus: {
      received: "已受理", dispatched: "已派单", accepted: "已接单", arrived: "已到达", resolved: "已处理",
      closed: "已归档", cancelled: "已撤销", merged: "已合并",
    },
    ticketKind: { repair: "报修", hazard: "隐患", complaint: "投诉", fault: "故障" },
    outageKind: { planned: "计划停电", temporary: "临时停电", fault: "故障停电", arrears: "欠费停电", orderly: "有序用电" },
    applicationState: { on_time: "正常", at_risk: "临近超期", late: "已超期" },
    outageStatus: { suspected: "疑似停电", active: "停电中", announced: "已公告", restored: "已恢复", dismissed: "已排除", cancelled: "已取消" },
    outageSource: { reports: "报修研判", device: "设备告警", dispatcher: "调度发布" },
    gridState: { outage: "停电中", suspected: "疑似停电", restored: "近2小时内恢复", normal: "正常" },
    standard: {
      arrival: "到达现场", restoration: "恢复供电", complaint_contact: "投诉联系", complaint_answer: "投诉答复",
      application_stage: "业扩环节", outage_notice: "停电通知",
    },
    slaStep: { warning: "预警", breach: "超时" },
    recipient: { customer: "客户", worker: "网格员", staff: "工作人员" },
    reportKind: { daily: "日监控", weekly: "周通报", monthly: "月考评" },
    event: {
      queued: "进入排队", claimed: "接入", transferred: "转接", requeued: "转回排队", released: "转回智能客服",
      closed: "结束", cancelled: "客户取消", ticket_opened: "报修", complaint_opened: "投诉",
      callback_created: "回电", kf_session: "微信客服",
    },
  };
  const label = (kind, value) => (labels[kind] && labels[kind][value]) || "其他";

  /* Replace `node`'s children with these (arrays flattened, null and false left out). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
    return node;
  }

  /* Times as the service states them: in Asia/Shanghai, whatever the browser's zone. */
  const ZONE = "Asia/Shanghai";
  const dayOf = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric" });
  const clockOf = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hour12: false });
  const monthDay = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, month: "numeric", day: "numeric" });
  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const hm = clockOf.format(d);
    return dayOf.format(d) === dayOf.format(new Date()) ? hm : `${monthDay.format(d)} ${hm}`;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return `${seconds}秒`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}分${seconds % 60}秒`;
    return `${Math.floor(minutes / 60)}小时${minutes % 60}分`;
  }
  const since = (iso) => (Date.now() - new Date(iso).getTime()) / 1000;

  function toast(text, bad) {
    const box = $("toast");
    box.textContent = text;
    box.className = bad ? "toast bad" : "toast";
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, bad ? 6000 : 3000);
  }

  /* A small form in a dialog; resolves to the values, or null when cancelled. */
  function ask({ title, fields, submit = "确定" }) {
    return new Promise((resolve) => {
      const inputs = fields.map((f) => {
        const input = f.type === "textarea"
          ? el("textarea", { name: f.name, maxlength: f.maxlength, required: f.required, rows: 3 })
          : f.type === "select"
            ? el("select", { name: f.name }, f.options.map(([value, text]) => el("option", { value }, text)))
            : el("input", { name: f.name, maxlength: f.maxlength, required: f.required, pattern: f.pattern,
                            placeholder: f.placeholder, value: f.value });
        if (f.value && f.type === "textarea") input.value = f.value;
        return [f, input];
      });
      const dialog = el("dialog", { class: "ask" });
      const form = el("form", { method: "dialog" },
        el("h2", {}, title),
        inputs.map(([f, input]) => el("label", {}, f.label, input)),
        el("div", { class: "buttons" },
          el("button", { type: "button", onclick: () => { dialog.close(); resolve(null); } }, "取消"),
          el("button", { type: "submit", class: "primary" }, submit)));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        const values = Object.fromEntries(inputs.map(([f, input]) => [f.name, input.value.trim()]));
        dialog.close();
        dialog.remove();
        resolve(values);
      });
      dialog.appendChild(form);
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }

  /* --- the title badge and the arrival chime -------------------------------------------------- */

  const baseTitle = document.title;
  function badge(count) {
    document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
    const mark = document.querySelector("#nav a[data-page=conversations] .count");
    if (mark) { mark.textContent = String(count); mark.hidden = count === 0; }
  }

  let audio = null;
  function chime() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (error) { /* no sound available: the badge still shows */ }
  }

  /* --- scripts loaded on first need ------------------------------------------------------------ */

  const scripts = new Map();  // src → the promise of its one <script>
  /* Load a script of this backend's (the page's Content-Security-Policy admits no other) once; a
   * failed load is forgotten, so the next page that opens asks again. */
  function script(src) {
    if (!scripts.has(src)) {
      scripts.set(src, new Promise((resolve, reject) => {
        const node = el("script", {
          src,
          onload: resolve,
          onerror: () => { scripts.delete(src); node.remove(); reject(new Error(`${src} could not be loaded`)); },
        });
        document.head.appendChild(node);
      }));
    }
    return scripts.get(src);
  }

  /* --- the API -------------------------------------------------------------------------------- */

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
    let answer;
    try {
      answer = await fetch(path, { method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ApiError(0, "network", "网络连接中断，请稍后重试");
    }
    if (answer.status === 401) { signedOut(); throw new SignedOut("登录已过期"); }
    if (answer.status === 204) return null;
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      const message = answer.status === 422 && data.code === "validation_error"
        ? "内容不符合要求（不能为空，也不能超过字数限制）" : (data.message || `请求失败（${answer.status}）`);
      throw new ApiError(answer.status, data.code || "", message);
    }
    return data;
  }

  /* --- signing in and out --------------------------------------------------------------------- */

  function signedOut(note) {
    closeLive();
    $("signin-note").textContent = note || (me ? "登录已过期，请重新登录（未发送的回复已为您保留）" : "请使用您的工号登录");
    $("signin").hidden = false;
    $("signin-password").value = "";
    $("signin-username").value = me ? me.staff.username : $("signin-username").value;
    (me ? $("signin-password") : $("signin-username")).focus();
  }

  async function signIn(event) {
    event.preventDefault();
    $("signin-error").textContent = "";
    $("signin-submit").disabled = true;
    try {
      const answer = await fetch("/api/v1/staff/sessions", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify({ username: $("signin-username").value.trim(), password: $("signin-password").value }),
      });
      const data = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        $("signin-error").textContent = data.message || "登录失败，请稍后再试";
        return;
      }
      const sameUser = me && me.staff.username === data.staff.username;
      me = data;
      $("signin").hidden = true;
      showMe();
      if (current && sameUser) { openLive(); if (current.resume) current.resume(); } else route();
    } finally {
      $("signin-submit").disabled = false;
    }
  }

  async function signOut() {
    try { await api("DELETE", "/api/v1/staff/sessions/current"); } catch (error) { /* signed out anyway */ }
    me = null;
    unmount();
    $("page").replaceChildren();
    showMe();
    signedOut("您已退出登录");
  }

  function showMe() {
    $("me").textContent = me ? `${me.staff.name}（${label("role", me.staff.role)}）` : "";
    $("sign-out").hidden = !me;
    const canAccept = me && ["agent", "supervisor", "admin"].includes(me.staff.role);
    $("accepting").hidden = !canAccept;
    if (canAccept) $("accepting").textContent = me.staff.accepting ? "接待中（点击小休）" : "小休中（点击恢复接待）";
    buildNav();
  }

  async function toggleAccepting() {
    const data = await api("PUT", "/api/v1/staff/me/accepting", { accepting: !me.staff.accepting });
    me.staff.accepting = data.accepting;
    showMe();
  }

  /* --- pages and navigation ------------------------------------------------------------------- */

  function register(page) { pages.push(page); }
  const allowed = () => pages.filter((p) => me && p.roles.includes(me.staff.role));

  function buildNav() {
    const nav = $("nav");
    fill(nav, allowed().map((p) => el("a", { href: `#/${p.id}`, dataset: { page: p.id } },
      p.title, p.id === "conversations" ? el("span", { class: "count", hidden: true }, "0") : null)));
    highlightNav();
  }

  function highlightNav() {
    for (const link of document.querySelectorAll("#nav a")) {
      link.classList.toggle("current", current !== null && link.dataset.page === current.id);
    }
  }

  function unmount() {
    if (current && current.unmount) current.unmount();
    current = null;
  }

  function route() {
    if (!me) return;
    const [id, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
    const choices = allowed();
    const page = choices.find((p) => p.id === id)
      || choices.find((p) => p.home && p.home.includes(me.staff.role)) || choices[0];
    if (!page) { fill($("page"), el("p", { class: "empty" }, "您的岗位暂无可用页面")); return; }
    if (current !== page) {
      unmount();
      current = page;
      const element = el("div", { class: "page-root" });
      $("page").replaceChildren(element);
      page.mount(element, rest);
    } else if (page.navigate) {
      page.navigate(rest);
    }
    highlightNav();
    openLive();
  }

  /* --- the live stream ------------------------------------------------------------------------ */

  function closeLive() {
    if (source) source.close();
    source = null;
    liveTopics = "";
    $("live-state").textContent = "";
  }

  /* (Re)open the stream for the current page's topics; call it when they change. */
  function openLive() {
    if (!current || !me || !$("signin").hidden) return;
    const topics = (current.topics ? current.topics() : []).join(",");
    if (topics === liveTopics && source) return;
    closeLive();
    if (!topics) return;
    liveTopics = topics;
    const stream = new EventSource(`/api/v1/console/stream?topics=${encodeURIComponent(topics)}`);
    source = stream;
    for (const topic of topics.split(",")) {
      stream.addEventListener(topic, (event) => {
        if (source === stream && current && current.onTopic) current.onTopic(topic, JSON.parse(event.data));
      });
    }
    stream.addEventListener("open", () => setLiveState(true));
    stream.addEventListener("signed_out", () => { stream.close(); signedOut(); });
    stream.addEventListener("error", async () => {
      setLiveState(false);
      if (stream.readyState === EventSource.CLOSED) {  // refused (e.g. the session ended): ask why
        try { await api("GET", "/api/v1/staff/me"); setTimeout(openLive, 2000); liveTopics = ""; }
        catch (error) { /* signedOut() already shows the sign-in */ }
      }
    });
  }

  function setLiveState(up) {
    const mark = $("live-state");
    mark.textContent = up ? "● 实时" : "● 重新连接中…";
    mark.className = up ? "live-state" : "live-state down";
  }

  async function start() {
    $("signin-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("accepting").addEventListener("click", toggleAccepting);
    window.addEventListener("hashchange", route);
    try {
      me = await api("GET", "/api/v1/staff/me");
    } catch (error) {
      return;  // the sign-in is showing
    }
    showMe();
    route();
  }

  document.addEventListener("DOMContentLoaded", start);

  return {
    register, api, el, fill, ask, toast, badge, chime, label, labels, time, duration, since, openLive, script,
    SignedOut, ApiError,
    get me() { return me; },
    canTake: () => me && ["agent", "supervisor", "admin"].includes(me.staff.role),
    supervises: () => me && ["supervisor", "admin"].includes(me.staff.role),
  };
})();
