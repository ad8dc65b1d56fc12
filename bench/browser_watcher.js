// What the page records for bench/browser_session.py, installed before any of the app's scripts (Playwright's
// add_init_script), so nothing is missed. Every time is in the page's own clock (performance.now(), ms).
//
// * the visitor's input: the first pointerdown/keydown after arm() starts the wait;
// * every websocket message received [time, bytes, script_finished status or -1] and sent [time, bytes];
// * the run's end: a ForwardMsg.script_finished (not FINISHED_EARLY_FOR_RERUN), then two animation frames and the
//   app back to data-test-script-state="notRunning" (settledAt);
// * each Plotly chart of the main area (a host of explorer/plotly_view.js's component), by id (its widget key,
//   else "chart<k>:<title>"), with a signature of what it holds (its layout and traces; arrays sampled) and the
//   frame at which that last changed.
//   Charts are scanned on each animation frame after a DOM mutation, so a change is dated by the frame that showed
//   it, not by a poll; plotly_afterplot (a redraw finished) is logged beside it, to check that dating, and so is
//   each new plot element (mounted: drawn before its afterplot could be hooked);
// * the browser's long tasks (Performance timeline).
(() => {
    if (window.__bt) return;
    const bt = window.__bt = {frames: 0, msgs: [], sends: [], longtasks: [], afterplot: [], mounts: [], els: {},
                              charts: {}, present: [],
                              dirty: true, armed: false, input: null, finishFrame: -1, finishAt: null,
                              settledAt: null, snapshot: {}, msgStart: 0, sendStart: 0, ltStart: 0, apStart: 0,
                              mountStart: 0,
                              running: false, lastMutation: 0};
    try {
        new PerformanceObserver(list => {
            for (const e of list.getEntries()) bt.longtasks.push([e.startTime, e.duration]);
        }).observe({type: 'longtask', buffered: true});
    } catch (e) { /* no long-task timing in this browser */ }

    const onInput = ev => { if (bt.armed) { bt.input = ev.timeStamp || performance.now(); bt.armed = false; } };
    window.addEventListener('pointerdown', onInput, true);
    window.addEventListener('keydown', onInput, true);

    // -- the websocket -------------------------------------------------------------------------------------------
    const finishedStatus = __FINISHED_STATUS__;    // bench/st_signals.py: FINISHED_STATUS_JS
    const received = (t, data) => {
        const bytes = new Uint8Array(data), status = finishedStatus(bytes);
        bt.msgs.push([t, bytes.length, status]);
        if (status >= 0 && status !== 2) { bt.finishAt = t; bt.finishFrame = bt.frames; bt.settledAt = null; }
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', ev => {
                const t = performance.now();
                if (ev.data instanceof ArrayBuffer) received(t, ev.data);
                else if (ev.data instanceof Blob) ev.data.arrayBuffer().then(d => received(t, d));
            });
        }
        send(data) {
            bt.sends.push([performance.now(), data.byteLength || data.size || data.length || 0]);
            return super.send(data);
        }
    };

    // -- the charts ----------------------------------------------------------------------------------------------
    const SAMPLES = 24;                    // values kept of each array (and of each row of a 2-D array)
    const isArray = v => Array.isArray(v) || ArrayBuffer.isView(v);
    const sampled = v => {
        const n = v.length, step = Math.max(1, Math.floor(n / SAMPLES)), out = [n];
        for (let i = 0; i < n; i += step) out.push(v[i]);
        if (n) out.push(v[n - 1]);
        return out;
    };
    const replacer = (key, v) => {
        if (key === 'template' || key.startsWith('_')) return undefined;     // the theme; plotly's private state
        if (isArray(v)) return v.length > SAMPLES ? sampled(v) : Array.from(v);
        if (typeof v === 'string' && v.length > 256) return v.length + ':' + sampled(v).slice(1).join('');  // base64
        return v;
    };
    // What a chart holds: its layout (theme left out) and traces, every array sampled; null before it is drawn.
    const signature = el => {
        if (!el || !el._fullLayout || !el.data) return null;
        try { return JSON.stringify([el.layout, el.data], replacer); } catch (e) { return 'unreadable: ' + e; }
    };
    const idOf = (chart, k) => {
        for (let a = chart; a && a !== document.body; a = a.parentElement)
            for (const c of a.classList || []) if (c.startsWith('st-key-')) return c.slice(7);
        const el = chart.querySelector('.js-plotly-plot');
        const title = el && el.layout && el.layout.title ? String(el.layout.title.text || '') : '';
        return 'chart' + k + ':' + title.replace(/<[^>]+>/g, '');
    };
    // A chart's host is in the page as soon as Streamlit shows the element; its plot (rnnChart) only once the
    // component's code has run, later on a busy page: a host without a plot is a chart not drawn yet.
    const charts = () => document.querySelectorAll('[data-testid="stMain"] .stBidiComponent');
    bt.scan = now => {
        const seen = [];
        charts().forEach((chart, k) => {
            let id = idOf(chart, k);
            if (seen.includes(id)) id += '#' + k;         // charts without a key of their own in a keyed container
            seen.push(id);
            const el = chart.querySelector('.js-plotly-plot');
            if (el && bt.els[id] !== el) {            // a new plot element: plotly drew it before it could be hooked
                bt.els[id] = el;
                bt.mounts.push([now, id]);
            }
            if (el && el.on && !el.__btHooked) {
                el.__btHooked = true;
                el.on('plotly_afterplot', () => bt.afterplot.push([performance.now(), id]));
            }
            const s = signature(el), prev = bt.charts[id];
            if (!prev || prev.sig !== s) bt.charts[id] = {sig: s, t: now};
        });
        for (const id of Object.keys(bt.charts)) if (!seen.includes(id)) { delete bt.charts[id]; delete bt.els[id]; }
        bt.present = seen;
    };
    new MutationObserver(() => { bt.dirty = true; bt.lastMutation = performance.now(); })
        .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
    setInterval(() => { bt.dirty = true; }, 250);          // a chart redrawn without a DOM mutation (none seen yet)
    const idle = () => {
        const app = document.querySelector('[data-testid="stApp"]');
        return !!app && app.getAttribute('data-test-script-state') === 'notRunning';
    };
    // The frame loop runs from page load, and from each arm() until stop(): an idle page costs nothing.
    const tick = () => {
        bt.frames++;
        const now = performance.now();
        if (bt.dirty) { bt.dirty = false; bt.scan(now); }
        if (bt.finishFrame >= 0 && bt.settledAt === null && bt.frames >= bt.finishFrame + 2 && idle()) bt.settledAt = now;
        if (bt.running) requestAnimationFrame(tick);
    };
    bt.start = () => { if (!bt.running) { bt.running = true; requestAnimationFrame(tick); } return true; };
    bt.stop = () => { bt.running = false; return true; };
    bt.start();
    bt.lastChange = () => Math.max(0, ...bt.present.filter(id => bt.charts[id]).map(id => bt.charts[id].t));
    // Quiet: the run settled, and nothing in the page changed (DOM, charts) for `ms`, every chart drawn.
    bt.quiet = ms => {
        const now = performance.now();
        return bt.settledAt !== null && now - bt.settledAt > ms && now - bt.lastMutation > ms
               && now - bt.lastChange() > ms && Object.values(bt.charts).every(c => c.sig);
    };

    // -- one action ----------------------------------------------------------------------------------------------
    bt.arm = () => {
        bt.start();
        bt.scan(performance.now());
        bt.snapshot = {};
        for (const id of bt.present) bt.snapshot[id] = bt.charts[id] ? bt.charts[id].sig : null;
        bt.armed = true; bt.input = null; bt.finishFrame = -1; bt.finishAt = null; bt.settledAt = null;
        bt.msgStart = bt.msgs.length; bt.sendStart = bt.sends.length;
        bt.ltStart = bt.longtasks.length; bt.apStart = bt.afterplot.length; bt.mountStart = bt.mounts.length;
        return true;
    };
    // The charts that differ from the armed snapshot: {id: signature, or "<absent>" for a chart that went away}.
    bt.changed = () => {
        const out = {};
        for (const id of bt.present) {
            if (!(id in bt.snapshot) || bt.snapshot[id] !== (bt.charts[id] || {}).sig) out[id] = (bt.charts[id] || {}).sig;
        }
        for (const id of Object.keys(bt.snapshot)) if (!bt.present.includes(id)) out[id] = '<absent>';
        return out;
    };
    // The action's timeline: the wait ends when the run has settled and every target chart holds its new data.
    bt.result = targets => {
        const t0 = bt.input, msgs = bt.msgs.slice(bt.msgStart), sends = bt.sends.slice(bt.sendStart);
        let chartsAt = bt.settledAt;
        const targetAt = {};
        for (const id of Object.keys(targets)) {
            if (bt.charts[id] && bt.charts[id].t > (t0 || 0)) targetAt[id] = bt.charts[id].t;
            if (bt.charts[id]) chartsAt = Math.max(chartsAt, bt.charts[id].t);
        }
        const end = Math.max(bt.settledAt, chartsAt);
        const inWindow = msgs.filter(m => m[0] <= end);
        let ltTotal = 0, ltMax = 0, ltCount = 0;
        for (const [s, d] of bt.longtasks.slice(bt.ltStart)) {
            const overlap = Math.min(s + d, end) - Math.max(s, t0 === null ? s : t0);
            if (overlap > 0) { ltTotal += overlap; ltMax = Math.max(ltMax, d); ltCount++; }
        }
        const afterplot = bt.afterplot.slice(bt.apStart).filter(a => a[0] <= end);
        const mounted = bt.mounts.slice(bt.mountStart).filter(a => a[0] <= end).map(a => a[1]);
        return {input: t0, send: sends.length ? sends[0][0] : null, firstMsg: msgs.length ? msgs[0][0] : null,
                lastMsg: inWindow.length ? inWindow[inWindow.length - 1][0] : null, finish: bt.finishAt,
                settled: bt.settledAt, chartsAt: chartsAt, end: end, targetAt: targetAt, msgs: inWindow.length,
                finishes: inWindow.filter(m => m[2] >= 0).map(m => m[2]),
                bytes: inWindow.reduce((a, m) => a + m[1], 0), longtasks: ltCount, longtaskMs: ltTotal,
                longtaskMax: ltMax, afterplot: afterplot.length, mounted: [...new Set(mounted)],
                redrawn: [...new Set(afterplot.map(a => a[1]).concat(mounted))],
                present: bt.present.length, drawn: bt.present.filter(id => bt.charts[id] && bt.charts[id].sig).length,
                exception: !!document.querySelector('[data-testid="stException"]'), origin: performance.timeOrigin};
    };
    // Ready when the run has settled and every target chart holds its target signature ('*': any change).
    // A chart whose data differ from one run to the next never matches its learnt signature: `graceMs` after the
    // run settled, a change from the armed snapshot is accepted instead (inexact: its ids). A target chart still
    // unchanged `giveUpMs` after the run settled is given up on (missing: its ids). The times are those of the
    // frames that showed the changes, whenever they are noticed.
    bt.ready = (targets, graceMs, giveUpMs) => {
        if (bt.settledAt === null) return null;
        const since = performance.now() - bt.settledAt, inexact = [], missing = [];
        for (const [id, want] of Object.entries(targets)) {
            const now = bt.charts[id], have = now ? now.sig : '<absent>', changed = have !== bt.snapshot[id];
            if (want === '*' ? !changed : have !== want) {
                if (since > graceMs && changed && (want === '<absent>') === (have === '<absent>')) inexact.push(id);
                else if (since > giveUpMs) missing.push(id);
                else return null;
            }
        }
        return Object.assign(bt.result(targets), {inexact: inexact, missing: missing});
    };
    // Redraws (plotly_afterplot) of `ids` that finished after `end`: a wait that ended before a chart was drawn.
    bt.drawsAfter = (end, ids) => bt.afterplot.slice(bt.apStart).filter(a => a[0] > end + 1 && ids.includes(a[1]))
        .map(a => [a[1], Math.round(a[0] - end)]);
    // A first visit: settled and every chart on the page drawn (at least `expected` of them).
    bt.complete = expected => {
        if (bt.settledAt === null) return null;
        const drawn = bt.present.filter(id => bt.charts[id] && bt.charts[id].sig);
        if (drawn.length < bt.present.length || drawn.length < expected) return null;
        return {end: Math.max(bt.settledAt, bt.lastChange()), settled: bt.settledAt, finish: bt.finishAt,
                firstMsg: bt.msgs.length ? bt.msgs[0][0] : null, charts: drawn.length, origin: performance.timeOrigin,
                msgs: bt.msgs.length, bytes: bt.msgs.reduce((a, m) => a + m[1], 0), longtasks: bt.longtasks.length,
                longtaskMs: bt.longtasks.reduce((a, l) => a + l[1], 0),
                exception: !!document.querySelector('[data-testid="stException"]')};
    };
    // What each chart draws: traces, points (x/y/z values), annotations and shapes.
    bt.chartStats = () => Array.from(charts()).map((chart, k) => {
        const el = chart.querySelector('.js-plotly-plot'), L = (el && el.layout) || {};
        let points = 0;
        for (const t of (el && el._fullData) || []) {
            for (const key of ['x', 'y', 'z']) {
                const v = t[key];
                if (!v || typeof v.length !== 'number') continue;
                if (key === 'z' && v.length && v[0] && typeof v[0].length === 'number')
                    points += Array.from(v).reduce((a, r) => a + r.length, 0);
                else if (key === 'z' || !t.z) points += v.length;
            }
        }
        return {id: idOf(chart, k), type: el && el._fullData && el._fullData[0] ? el._fullData[0].type : null,
                traces: el && el.data ? el.data.length : 0, points: points,
                annotations: (L.annotations || []).length, shapes: (L.shapes || []).length,
                width: el && el._fullLayout ? el._fullLayout.width : null};
    });
})();
