//! One death → one finding: decide the cause from the most direct record, name the killer, cite evidence,
//! say what is missing.

use coroner_schemas::finding::{Candidate, Cause, Confidence, EvidenceRef, Finding, Killer};
use coroner_schemas::{Event, EventKind, Utc};

use super::deaths::{self, candidate, evidence, is_crash_signal, signal_of, Group, ObsKind};
use super::index::Session;
use super::typed::Typed;
use super::Context;

const SHELLS: [&str; 8] = ["bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh"];
const CRON: [&str; 5] = ["cron", "crond", "anacron", "atd", "CRON"];

pub fn compose(g: &Group, cx: &Context) -> Finding {
    let ev = cx.events;
    let t = g.time();
    let mut f = Finding {
        id: String::new(),
        victim: deaths::victim_from(g, ev),
        time: deaths::time_of(g, ev),
        cause: Cause::Unknown,
        signal: None,
        killer: None,
        via: None,
        container_reason: None,
        confidence: Confidence::Possible,
        reasoning: String::new(),
        evidence: Vec::new(),
        missing: Vec::new(),
        candidates: Vec::new(),
        details: serde_json::Map::new(),
    };
    if f.victim.user.is_none() {
        f.victim.user = f.victim.uid.and_then(|u| cx.index.user_names.get(&u).cloned());
    }
    if let Some(pid) = f.victim.pid {
        if let Some(info) = cx.index.describe(pid, t) {
            f.victim.comm = f.victim.comm.take().or(info.comm);
            f.victim.cmdline = f.victim.cmdline.take().or(info.argv);
            f.victim.uid = f.victim.uid.or(info.uid);
            f.victim.user = f.victim.user.take().or(info.user);
        }
    }
    let mut sorted: Vec<_> = g.obs.iter().collect();
    sorted.sort_by_key(|o| (o.kind, o.event));
    for o in &sorted {
        let recorded = ev[o.event].source == coroner_schemas::Source::Watch;
        let role = match o.kind {
            ObsKind::Oom if recorded && ev[o.event].fields.contains_key("seq") => "kernel OOM killer record, as the signal recorder copied it",
            ObsKind::Oom if recorded => "signal recorder's trace of the OOM killer choosing it (oom/mark_victim)",
            ObsKind::Oom => "kernel OOM killer record",
            ObsKind::KernelCrash if recorded => "kernel fault record, as the signal recorder copied it",
            ObsKind::KernelCrash => "kernel fault record",
            ObsKind::KernelSignal => "signal recorder's trace of the signal the kernel generated",
            ObsKind::RecordedKill => "signal recorder's trace of the signal sent (signal_generate)",
            ObsKind::AuditKill if o.group_kill && g.first(ObsKind::AuditKill).is_some_and(|f| f.event != o.event) => {
                "audit record of a group kill that reached it too"
            }
            ObsKind::AuditKill => "audit record of the kill syscall",
            ObsKind::Abend => "audit record of the abnormal end",
            ObsKind::SelfSignal => "audit record of the process signalling itself",
            ObsKind::Core => "core dump",
            ObsKind::SupervisorKill => "supervisor kill record",
            ObsKind::HistoryKill => "shell history line",
            ObsKind::UnitDeath => "service manager record",
            ObsKind::Watchdog => "watchdog timeout record",
            ObsKind::ContainerExit if ev[o.event].source == coroner_schemas::Source::Kubelet => "kubelet's record of the container's exit",
            ObsKind::ContainerExit => "runtime record of the container's exit",
            ObsKind::KubeletStop => "kubelet's record of killing the container",
            ObsKind::PodEnd => "kubelet's record of the pod's end",
        };
        f.evidence.push(evidence(&ev[o.event], role));
    }

    if let Some(panic) = (super::init::is_init_fault(g)).then(|| super::init::init_panic(cx, g)).flatten() {
        // PID 1 died of its fault: the kernel panicked, which is the host's death.
        f.cause = Cause::Crash;
        f.signal = g.obs.iter().find_map(|o| o.signal).map(signal_of);
        f.confidence = Confidence::Certain;
        f.via = Some("kernel".into());
        super::init::init_death(&mut f, panic);
    } else if let Some(o) = oom_record(g, ev) {
        oom(&mut f, &ev[o.event], cx);
        if ev[o.event].source == coroner_schemas::Source::Watch && !ev[o.event].fields.contains_key("seq") {
            f.reasoning.push_str(" The signal recorder traced the kernel choosing it (oom/mark_victim); the kernel's own OOM report is not in the bundle.");
        } else if ev[o.event].source == coroner_schemas::Source::Watch {
            f.reasoning.push_str(" The kernel's record is the signal recorder's copy of it.");
        }
    } else if let Some(o) = g.first(ObsKind::KernelCrash) {
        let e = &ev[o.event];
        f.cause = Cause::Crash;
        f.signal = o.signal.map(signal_of);
        f.confidence = Confidence::Certain;
        f.via = Some("kernel".into());
        for k in ["addr", "ip", "sp", "error", "object", "trap"] {
            if let Some(v) = e.fields.get(k) {
                f.details.insert(k.into(), v.to_json());
            }
        }
        f.reasoning = format!(
            "The kernel logged a {} in this process{}: it died of {} it raised itself, not of a signal someone sent.",
            e.field_str("trap").unwrap_or("segmentation fault"),
            e.field_str("addr").map(|a| format!(" at address {a}")).unwrap_or_default(),
            f.signal.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| "a fault".into())
        );
        core_details(&mut f, g, cx);
    } else if let Some(o) = g.first(ObsKind::KernelSignal) {
        kernel_signal(&mut f, &ev[o.event], o.signal.unwrap_or(9), g, ev);
    } else if let Some(o) = g.first(ObsKind::AuditKill).or_else(|| g.first(ObsKind::RecordedKill)) {
        let e = &ev[o.event];
        let sig = o.signal.unwrap_or(9);
        f.signal = Some(signal_of(sig));
        f.cause = if matches!(sig, 24 | 25) { Cause::ResourceLimit } else { Cause::Signal };
        f.confidence = Confidence::Certain;
        let mut k = deaths::killer_from_audit(e);
        // The recorder's view of the sender first: the index (audit's records) replaces its chain only when it
        // reaches as far.
        let traced = g.first(ObsKind::RecordedKill).map(|r| &ev[r.event]);
        if let Some(r) = traced {
            from_recorder(&mut k, &mut f, r);
        }
        enrich_killer(&mut k, &mut f, g, cx, e.timestamp.sort_key());
        let info = k.pid.and_then(|p| cx.index.describe(p, e.timestamp.sort_key()));
        let args = info.as_ref().and_then(|i| i.args.clone()).or_else(|| traced.and_then(|r| string_list(r, "argv")));
        let masquerade = name_note(&k, args.as_deref(), info.as_ref().map_or(&[][..], |i| &i.paths), e.field_str("proctitle"));
        f.reasoning = if o.kind == ObsKind::RecordedKill {
            format!(
                "The signal recorder's trace of signal_generate shows pid {} ({}) sending {} ({}) to pid {}{}.{}{}",
                k.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                k.comm.clone().unwrap_or_else(|| "?".into()),
                f.signal.as_ref().map(|s| s.name.as_str()).unwrap_or("a signal"),
                e.field_str("si_code_name").unwrap_or("?"),
                f.victim.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                fate_text(e),
                provenance(e),
                masquerade
            )
        } else {
            format!(
                "An audit record of the {} syscall shows pid {} ({}) sending {} to pid {}.{}{}",
                e.syscall().unwrap_or("kill"),
                k.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                k.comm.clone().unwrap_or_else(|| "?".into()),
                f.signal.as_ref().map(|s| s.name.as_str()).unwrap_or("a signal"),
                f.victim.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                masquerade,
                traced
                    .map(|r| format!(" The signal recorder traced the same kill (signal_generate, {}){}.{}", r.field_str("si_code_name").unwrap_or("?"), fate_text(r), provenance(r)))
                    .unwrap_or_default()
            )
        };
        if let Some(r) = o.repeats.filter(|_| o.kind == ObsKind::AuditKill) {
            let first = &ev[r.first];
            f.reasoning.push_str(&format!(
                " The same sender sent it {} times, each call audited and successful, from {}: a process with pid {} was there to receive every one, so only the last, cited here, can have ended it.",
                r.count,
                first.timestamp.sort_key().map_or_else(|| "an unknown time".into(), |t| t.rfc3339()),
                f.victim.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            ));
            f.details.insert("kill_records".into(), serde_json::json!(r.count));
            f.evidence.push(evidence(first, "the first audit record of the same sender's same kill"));
        }
        // The syscall's argument (`target_arg`): -1 is a broadcast, below -1 a process group; `target_pid` is
        // this victim.
        if let Some(tp) = e.target_arg().or_else(|| e.target_pid()) {
            if tp < -1 {
                f.details.insert("process_group".into(), serde_json::json!(-tp));
                f.reasoning.push_str(&format!(" It was sent to the whole process group {}.", -tp));
            } else if tp == -1 {
                f.details.insert("broadcast".into(), serde_json::json!(true));
                f.reasoning.push_str(" It was a kill -1 broadcast to every process the sender could signal.");
            } else if tp == 0 && deaths::is_group_kill(e) {
                f.reasoning.push_str(" It was sent with kill(0, …) to the sender's own process group.");
            }
        }
        // Group or broadcast kills that reached it after that signal: more evidence of the same death.
        for later in g.obs.iter().filter(|x| x.kind == ObsKind::AuditKill && x.group_kill && x.event != o.event) {
            let l = &ev[later.event];
            f.reasoning.push_str(&format!(
                " A later audit record shows pid {} ({}) calling {}, {}, which reached this process too: the same death, not a second one.",
                l.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                l.comm.as_deref().unwrap_or("?"),
                kill_call(l),
                group_scope(l)
            ));
        }
        if sig != 9 {
            if !cx.index.survived(f.victim.pid.unwrap_or(-1), t) {
                f.details.insert("catchable".into(), serde_json::json!(true));
            }
            catchable_end(&mut f, g, sig, ev);
        }
        f.killer = Some(k);
    } else if let Some(o) = g.first(ObsKind::SupervisorKill) {
        let e = &ev[o.event];
        f.cause = Cause::Signal;
        f.signal = o.signal.map(signal_of);
        f.confidence = Confidence::Certain;
        f.via = Some("systemd".into());
        let mut k = systemd_killer(e);
        k.command = e.unit().map(|u| format!("stop/kill of {u}"));
        f.reasoning = format!("{} logged that it killed this process: \"{}\".", manager_name(&k), e.message);
        f.killer = Some(k);
        if g.first(ObsKind::Core).is_some() {
            core_details(&mut f, g, cx);
        }
    } else if let Some(o) = g.first(ObsKind::Watchdog) {
        let e = &ev[o.event];
        f.cause = Cause::Signal;
        f.signal = Some(signal_of(6));
        f.confidence = Confidence::Certain;
        f.via = Some("systemd".into());
        let mut k = systemd_killer(e);
        k.command = e.unit().map(|u| format!("watchdog of {u}"));
        f.reasoning = format!(
            "{} logged that this unit's watchdog timed out; on that it kills the main process (SIGABRT unless WatchdogSignal= says otherwise).",
            manager_name(&k)
        );
        f.killer = Some(k);
        unit_signal(&mut f, g, cx);
        if g.first(ObsKind::Core).is_some() {
            core_details(&mut f, g, cx);
        }
    } else if let Some(o) = g.first(ObsKind::Abend).or_else(|| g.first(ObsKind::Core)).or_else(|| g.first(ObsKind::SelfSignal)) {
        let sig = g.obs.iter().find_map(|o| if matches!(o.kind, ObsKind::Abend | ObsKind::Core | ObsKind::SelfSignal) { o.signal } else { None });
        f.signal = sig.map(signal_of);
        f.confidence = Confidence::Certain;
        f.cause = match sig {
            Some(24 | 25) => Cause::ResourceLimit,
            Some(s) if is_crash_signal(s) => Cause::Crash,
            Some(_) => Cause::Signal,
            None => Cause::Crash,
        };
        f.via = Some("kernel".into());
        let sig_name = f.signal.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| "a fatal signal".into());
        if o.kind == ObsKind::SelfSignal {
            // The record is of the sending, not of the end: a handler may catch a raised signal.
            f.confidence = Confidence::Likely;
            f.details.insert("self_signal".into(), serde_json::json!(true));
            f.reasoning = format!(
                "An audit record shows this process sending itself {sig_name} (as abort(3) and raise(3) do), whose default action ends it; no record of its end is in the bundle."
            );
            f.missing.push("a record of its end (audit ANOM_ABEND, a core, the kernel's fatal-signal line)".into());
        } else {
            let what = if o.kind == ObsKind::Abend { "An audit ANOM_ABEND record" } else { "A core dump" };
            f.reasoning = format!(
                "{what} shows this process ended on {sig_name}.{}",
                if f.cause == Cause::Signal { " No record names who sent it." } else { "" }
            );
        }
        if f.cause == Cause::Signal {
            f.missing.push("an audit record of the kill syscall (no kill-family audit rule matched)".into());
        }
        core_details(&mut f, g, cx);
    } else if g.first(ObsKind::UnitDeath).is_some() {
        unit_death(&mut f, g, cx);
    } else if g.obs.iter().any(|o| super::containers::is_container_obs(o.kind)) {
        super::containers::death(&mut f, g, cx);
    } else if let Some(o) = g.first(ObsKind::HistoryKill) {
        let e = &ev[o.event];
        f.cause = Cause::Signal;
        f.signal = o.signal.map(signal_of);
        let user = e.user.clone();
        let session = user.as_deref().and_then(|u| o.t.and_then(|t| active_session(cx, u, t)));
        f.confidence = if session.is_some() && e.timestamp.certainty() == "exact" { Confidence::Likely } else { Confidence::Possible };
        f.via = Some("shell".into());
        f.killer = Some(Killer {
            pid: None,
            comm: e.field_str("tool").map(str::to_owned),
            exe: None,
            uid: e.uid,
            user: user.clone(),
            auid: None,
            auser: None,
            session: None,
            tty: session.and_then(|s| s.tty.clone()),
            login_from: session.and_then(|s| s.host.clone()),
            parent_chain: Vec::new(),
            command: e.command().map(str::to_owned),
            container: None,
        });
        if let Some(s) = session {
            f.evidence.push(evidence(&ev[s.event], "login session open at that time"));
        }
        f.reasoning = format!(
            "{}'s shell history has `{}` {} and no direct record of the death{}.",
            user.as_deref().unwrap_or("a user"),
            e.command().unwrap_or("a kill command"),
            match e.timestamp.certainty() { "exact" => "with a timestamp", _ => "without an exact time" },
            if session.is_some() { "; that user was logged in then" } else { "; no login session of that user covers the time" }
        );
        f.missing.push("an audit record of the kill syscall, which would name the sender for certain".into());
    }

    super::containers::refine(&mut f, g, cx);

    // A human's history line that matches a death decided otherwise corroborates it.
    if f.cause == Cause::Signal && f.confidence == Confidence::Certain {
        if let Some(o) = g.first(ObsKind::HistoryKill) {
            let e = &ev[o.event];
            if let Some(k) = f.killer.as_mut() {
                if k.command.is_none() || f.via.as_deref() == Some("shell") {
                    k.command = e.command().map(str::to_owned).or(k.command.take());
                }
            }
        }
    }
    if f.cause == Cause::Unknown || f.killer.is_none() && f.cause == Cause::Signal {
        unknown_candidates(&mut f, cx, t);
    }
    // Nothing named the sender: say what was in place to record one, and the command that would have. A kill
    // record (audit's or the recorder's) names it even when the death itself is only likely.
    let recorded = g.first(ObsKind::AuditKill).is_some() || g.first(ObsKind::RecordedKill).is_some();
    let unnamed = !recorded && (f.killer.is_none() || f.confidence != Confidence::Certain);
    if matches!(f.cause, Cause::Unknown | Cause::Signal) && unnamed && f.via.as_deref() != Some("kernel") {
        f.missing.extend(super::in_place(cx.facts, cx.has_kill_audit, &cx.kill_audit_narrowed, t, f.signal.as_ref().map(|s| i64::from(s.number))));
    }
    if !cx.has_kill_audit && matches!(f.cause, Cause::Unknown | Cause::Signal) && f.confidence != Confidence::Certain && !recorded {
        if !cx.kill_audit_narrowed.is_empty() {
            f.missing.push(format!(
                "a kill rule for every sender: of the loaded kill rules, {}; a sender outside that (a daemon, cron, a process without a login uid) leaves no record",
                cx.kill_audit_narrowed.join("; ")
            ));
        }
        f.missing.push(format!("audit rules for kill-family syscalls ({})", coroner_schemas::audit_rules::arm_command("b64")));
    }
    f.missing.sort();
    f.missing.dedup();
    f
}

/// The OOM record a finding reads its facts from: the kernel's own report (a capture's, then the recorder's copy
/// of it), before the recorder's trace of the choice, which names the victim but no cgroup or constraint.
fn oom_record<'a>(g: &'a Group, ev: &[Event]) -> Option<&'a deaths::Obs> {
    g.obs.iter().filter(|o| o.kind == ObsKind::Oom).min_by_key(|o| {
        let e = &ev[o.event];
        let rank = match (e.source, e.fields.contains_key("seq")) {
            (coroner_schemas::Source::Watch, true) => 1,
            (coroner_schemas::Source::Watch, false) => 2,
            _ => 0,
        };
        (rank, o.event)
    })
}

/// A string-array field (`argv`).
fn string_list(e: &Event, key: &str) -> Option<Vec<String>> {
    let a = e.fields.get(key)?.as_array()?;
    Some(a.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect())
}

/// What the recorder saw of the target after the signal, as a clause: `; pid 42 exited 48 µs later`.
fn fate_text(e: &Event) -> String {
    let target = e.target_pid().map(|p| format!("pid {p}")).unwrap_or_else(|| "the target".into());
    match e.field_str("fate") {
        Some("exited") => match e.fields.get("exited_after_us").and_then(|v| v.as_u64()) {
            Some(us) if us < 1000 => format!("; {target} exited {us} µs later"),
            Some(us) => format!("; {target} exited {:.1} ms later", us as f64 / 1000.0),
            None => format!("; {target} exited after it"),
        },
        _ => String::new(),
    }
}

/// Which of the sender's fields the recorder took from elsewhere than the trace event itself, as a sentence.
fn provenance(e: &Event) -> String {
    let Some(from) = e.fields.get("sender_from").map(|v| v.to_json()) else {
        return " The record does not say where the sender's other fields came from.".into();
    };
    let of = |what: &str| -> Vec<String> {
        from.as_object().into_iter().flatten().filter(|(_, v)| v.as_str() == Some(what)).map(|(k, _)| k.clone()).collect()
    };
    let (table, proc, parent) = (of("table"), of("proc"), of("parent"));
    let mut s = String::new();
    if !table.is_empty() {
        s.push_str(&format!(
            " The sender's {} come from the recorder's process table (fed by exec and fork events), not from the trace event itself.",
            table.join(", ")
        ));
    }
    if !proc.is_empty() {
        s.push_str(&format!(" Its {} were read from /proc when the signal was recorded.", proc.join(", ")));
    }
    if !parent.is_empty() {
        s.push_str(&format!(
            " Its {} {} its parent's, copied at fork: it was gone before the recorder could read its own from /proc, so a change of user after the fork (su, sudo, setuid) would not show.",
            parent.join(", "),
            if parent.len() == 1 { "is" } else { "are" }
        ));
    }
    s
}

/// Fills what audit or the index did not give from the recorder's record of the same kill, and keeps that record's
/// view of the sender in `details.recorder`, with where each field came from.
fn from_recorder(k: &mut Killer, f: &mut Finding, r: &Event) {
    k.pid = k.pid.or(r.pid);
    k.comm = k.comm.take().or_else(|| r.comm.clone());
    k.exe = k.exe.take().or_else(|| r.field_str("exe").map(str::to_owned));
    k.uid = k.uid.or(r.uid);
    k.user = k.user.take().or_else(|| r.user.clone());
    k.auid = k.auid.or_else(|| r.int("auid").and_then(|a| u32::try_from(a).ok()).filter(|&a| a != u32::MAX));
    k.auser = k.auser.take().or_else(|| r.field_str("auser").map(str::to_owned));
    k.command = k.command.take().or_else(|| deaths::args_text(r, "argv"));
    // The recorder's chain, fed by fork events, when it reaches further than the audit records'.
    let parents: Vec<String> = string_list(r, "ancestors").unwrap_or_default();
    if parents.len() > k.parent_chain.len() {
        k.parent_chain = parents.clone();
    }
    let mut rec = serde_json::Map::new();
    rec.insert("sender_pid".into(), serde_json::json!(r.pid));
    for (key, name) in [("tid", "sender_tid"), ("exe", "sender_exe"), ("argv", "sender_argv"), ("auid", "sender_loginuid"), ("sender_from", "sender_from")] {
        if let Some(v) = r.fields.get(key) {
            rec.insert(name.into(), v.to_json());
        }
    }
    rec.insert("sender_comm".into(), serde_json::json!(r.comm));
    rec.insert("sender_uid".into(), serde_json::json!(r.uid));
    if !parents.is_empty() {
        rec.insert("sender_parents".into(), serde_json::json!(parents));
    }
    for key in ["si_code_name", "signal_origin", "signal_result", "fate", "exited_after_us", "target_from"] {
        if let Some(v) = r.fields.get(key) {
            rec.insert(key.into(), v.to_json());
        }
    }
    f.details.insert("recorder".into(), serde_json::Value::Object(rec));
}

/// A signal the kernel itself generated, as the recorder traced it (no OOM or fault record of the death is in the
/// bundle): no process sent it.
fn kernel_signal(f: &mut Finding, e: &Event, sig: i64, g: &Group, ev: &[Event]) {
    f.signal = Some(signal_of(sig));
    f.cause = match sig {
        24 | 25 => Cause::ResourceLimit,
        s if is_crash_signal(s) => Cause::Crash,
        _ => Cause::Signal,
    };
    f.confidence = Confidence::Certain;
    f.via = Some("kernel".into());
    f.reasoning = format!(
        "The signal recorder's trace of signal_generate shows the kernel itself generating {} ({}) for this process{}: no process sent it (pid {} ({}) was running when it was generated).",
        signal_of(sig).name,
        e.field_str("si_code_name").unwrap_or("?"),
        fate_text(e),
        e.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        e.comm.as_deref().unwrap_or("?")
    );
    for key in ["si_code_name", "signal_origin", "fate", "exited_after_us"] {
        if let Some(v) = e.fields.get(key) {
            f.details.insert(key.into(), v.to_json());
        }
    }
    if sig != 9 {
        catchable_end(f, g, sig, ev);
    }
}

/// An audited signal other than SIGKILL (SIGSTOP never ends a process) can be caught or ignored: its record
/// proves it was sent, not that the process died of it. Certain only when a record of the same death shows the
/// end on that signal (ANOM_ABEND, the kernel's fatal-signal line, a core, systemd's exit status); else likely.
fn catchable_end(f: &mut Finding, g: &Group, sig: i64, ev: &[Event]) {
    let name = signal_of(sig).name;
    // The recorder's trace of the same signal shows the kernel ending the group on it: a fatal signal is
    // delivered as SIGKILL with no handler, and no other signal to it is in the group to have been the one.
    let traced = |o: &&deaths::Obs| o.kind == ObsKind::RecordedKill && o.signal == Some(sig);
    let others = g.obs.iter().any(|o| matches!(o.kind, ObsKind::RecordedKill | ObsKind::AuditKill | ObsKind::KernelSignal) && o.signal != Some(sig));
    let fatal = g.obs.iter().filter(traced).map(|o| &ev[o.event]).find(|e| {
        e.field_str("delivered_action") == Some("default") && e.field_i64("delivered_sig") == Some(9) && e.field_str("fate") == Some("exited")
    });
    if let Some(e) = fatal.filter(|_| !others) {
        f.reasoning.push_str(&format!(
            " {name} can be caught, but the recorder's trace of signal_deliver shows the kernel acting on it with the default action: SIGKILL with no handler in the process {} later (how the kernel ends every thread of a group on a fatal signal), and no other signal to it is recorded.",
            micros_text(e.field_i64("delivered_after_us"))
        ));
        for key in ["delivered_action", "delivered_sig", "delivered_after_us", "delivered_tid"] {
            if let Some(v) = e.fields.get(key) {
                f.details.insert(key.into(), v.to_json());
            }
        }
        return;
    }
    let handled = g.obs.iter().filter(traced).map(|o| &ev[o.event]).find(|e| e.field_str("delivered_action") == Some("handler"));
    let end = g
        .obs
        .iter()
        .filter(|o| matches!(o.kind, ObsKind::Abend | ObsKind::Core | ObsKind::UnitDeath) && o.signal == Some(sig))
        .min_by_key(|o| (o.kind, o.event));
    match end {
        Some(o) => {
            let what = match o.kind {
                ObsKind::Abend => "a record of its abnormal end",
                ObsKind::Core => "its core dump",
                _ => "the service manager's record of its exit",
            };
            f.reasoning.push_str(&format!(" {name} can be caught, but {what} shows it ended on {name}."));
        }
        None => {
            f.confidence = Confidence::Likely;
            // The recorder saw the exit, but sched_process_exit carries no exit status.
            let exited = g.obs.iter().any(|o| {
                matches!(o.kind, ObsKind::RecordedKill | ObsKind::KernelSignal) && ev[o.event].field_str("fate") == Some("exited")
            });
            f.reasoning.push_str(&if let Some(h) = handled {
                format!(
                    " The recorder's trace of signal_deliver shows {name} delivered to a handler in the process {} later: it caught the signal, and what it did then is its own.",
                    micros_text(h.field_i64("delivered_after_us"))
                )
            } else if exited {
                format!(
                    " {name} can be caught or ignored: the recorder saw the process exit after it, but its trace of the exit carries no exit status, so whether it died of {name} or handled it and exited is not shown."
                )
            } else {
                format!(
                    " {name} can be caught or ignored: the record shows it was sent, not that the process died of it, and no record of its end is in the bundle."
                )
            });
            f.missing.push(
                "a record of its end (audit ANOM_ABEND, the kernel's fatal-signal line, a core, the service manager's exit status)".into(),
            );
        }
    }
}

/// The service manager that wrote `e`, as far as the record names it: the program and pid of its syslog tag or
/// journal `_PID` (a user manager is `systemd[1234]`, not PID 1). Its uid is not in the record: left unknown.
fn systemd_killer(e: &Event) -> Killer {
    Killer { pid: e.field_i64("program_pid"), comm: e.field_str("program").map(str::to_owned), ..Killer::default() }
}

/// How a service-manager record names its writer in a sentence: `systemd[1234]`, or "the service manager".
fn manager_name(k: &Killer) -> String {
    match (k.comm.as_deref(), k.pid) {
        (Some(c), Some(p)) => format!("{c}[{p}]"),
        (Some(c), None) => c.to_owned(),
        (None, Some(p)) => format!("the service manager (pid {p})"),
        (None, None) => "the service manager".into(),
    }
}

/// The records of the kernel's OOM choice folded into the kill event `e` (they carry `detail_of_oom_kill`, the
/// kill line's offset). They come just before it in the same entry, so only the nearest events are looked at.
fn choice_records<'a>(cx: &'a Context, e: &Event) -> Vec<&'a Event> {
    let Some(off) = e.origin.offset.and_then(|o| i64::try_from(o).ok()) else { return Vec::new() };
    let at = cx.events.partition_point(|x| x.cmp_timeline(e) == std::cmp::Ordering::Less);
    let mut out: Vec<&Event> = cx.events[at.saturating_sub(256)..at]
        .iter()
        .filter(|c| c.origin.entry == e.origin.entry && c.field_i64("detail_of_oom_kill") == Some(off))
        .collect();
    out.sort_by(|a, b| a.origin.cmp(&b.origin));
    out
}

fn oom(f: &mut super::Finding, e: &Event, cx: &Context) {
    f.cause = Cause::OomKill;
    f.signal = Some(signal_of(9));
    f.confidence = Confidence::Certain;
    f.via = Some("kernel".into());
    // Absent when only an old kernel's bare `Killed process` line survives: the log does not say.
    let global = e.fields.get("global").and_then(|v| v.as_bool());
    for k in [
        "constraint", "oom_memcg", "task_memcg", "total_vm_kb", "anon_rss_kb", "file_rss_kb", "shmem_rss_kb", "oom_score_adj", "global",
        "score", "chosen_pid", "chosen_comm", "chosen_score", "shares_memory_with",
    ] {
        if let Some(v) = e.fields.get(k) {
            f.details.insert(k.into(), v.to_json());
        }
    }
    let memcg = e.field_str("oom_memcg").map(str::to_owned);
    f.victim.cgroup = f.victim.cgroup.take().or_else(|| e.field_str("task_memcg").map(str::to_owned));
    // The cgroup's limit, from the collected cgroup state.
    if let Some(l) = memcg.as_deref().and_then(|cg| cx.facts.cgroup_limit(cg)) {
        f.details.insert("cgroup_limit".into(), l.clone());
    }
    // The lines the kill event took its constraint, memcg, score and chosen task from (the `oom-kill:` line, an
    // old kernel's "Kill process … score …"): cited, as the sentences below rest on them.
    for c in choice_records(cx, e) {
        f.evidence.push(evidence(c, "OOM killer's choice record"));
    }
    // The largest consumers from the task dump of the same episode.
    let t = e.timestamp.sort_key();
    let mut dump: Vec<&Event> = cx
        .of_kind(EventKind::OomTaskDump)
        .filter(|d| {
            d.origin.entry == e.origin.entry
                && match (d.field_i64("episode"), e.field_i64("episode")) {
                    (Some(a), Some(b)) => a == b,
                    _ => close_us(d.timestamp.sort_key(), t, 5_000_000),
                }
        })
        .collect();
    dump.sort_by_key(|d| std::cmp::Reverse(d.field_i64("rss_pages").unwrap_or(0)));
    let top: Vec<serde_json::Value> = dump
        .iter()
        .take(5)
        .map(|d| {
            serde_json::json!({
                "pid": d.pid, "name": d.field_str("name").map(str::to_owned).or(d.comm.clone()),
                "rss_pages": d.field_i64("rss_pages"), "oom_score_adj": d.field_i64("oom_score_adj"),
            })
        })
        .collect();
    if !top.is_empty() {
        f.details.insert("top_consumers".into(), serde_json::Value::Array(top));
    }
    for d in dump.iter().take(5) {
        f.evidence.push(evidence(d, "OOM task dump row"));
    }
    if e.field_str("killer") == Some("systemd-oomd") {
        f.victim.cgroup = e.field_str("cgroup").map(str::to_owned);
        f.via = Some("systemd-oomd".into());
        f.killer = Some(Killer { comm: Some("systemd-oomd".into()), ..systemd_killer(e) });
        f.reasoning = format!(
            "systemd-oomd killed every process of cgroup {} due to {}.",
            e.field_str("cgroup").unwrap_or("?"),
            e.field_str("reason").unwrap_or("memory pressure")
        );
        return;
    }
    // How the task the kernel chose compared with the others, as far as the task dump shows it.
    let ranked = e.field_i64("chosen_pid").or(f.victim.pid);
    let mut rank = dump_rank(&dump, ranked, e.field_i64("chosen_pid").is_some());
    if e.fields.get("oom_kill_allocating_task").and_then(|v| v.as_bool()) == Some(true) {
        rank.push_str(" vm.oom_kill_allocating_task was set: the kernel kills the task whose allocation failed, whatever its size.");
    } else if let Some(s) = e.field_i64("score") {
        rank.push_str(&format!(" The kernel printed its badness score as {s} (of 1000)."));
    } else if let Some(s) = e.field_i64("chosen_score") {
        rank.push_str(&format!(" The kernel printed the parent's badness score as {s} (of 1000)."));
    }
    let largest = dump_largest(&dump).and_then(|x| x.pid);
    for d in dump.iter().filter(|d| d.pid.is_some() && (d.pid == ranked || d.pid == largest)) {
        if !f.evidence.iter().any(|x| x.origin == d.origin) {
            f.evidence.push(evidence(d, "OOM task dump row"));
        }
    }
    let rss = e.field_i64("anon_rss_kb").map(|k| format!("{} MiB anon RSS", k / 1024)).unwrap_or_else(|| "its memory".into());
    let adj = e.field_i64("oom_score_adj").map(|a| format!(", oom_score_adj {a}")).unwrap_or_default();
    // Up to 5.0 the kernel could kill a child of the task it chose ("Kill process … or sacrifice child").
    let chosen = match (e.field_i64("chosen_pid"), e.field_str("chosen_comm")) {
        (Some(p), c) => Some(format!("{} (pid {p})", c.unwrap_or("a process"))),
        _ => None,
    };
    if let Some(victim) = e.field_i64("shares_memory_with") {
        f.reasoning = format!(
            "The kernel's OOM killer killed it together with its victim, pid {victim}, because it shared that process's memory."
        );
        return;
    }
    // The `oom-kill:` line's constraint decides the scope; only CONSTRAINT_NONE is the whole host.
    let constraint = e.field_str("constraint");
    let nodes = |what: &str, key: &str| {
        let set = e.field_str(key).filter(|v| *v != "(null)").map(|v| format!(" ({key}={v})")).unwrap_or_default();
        format!("when the memory nodes its {what} allows ran out{set}, not necessarily the whole host")
    };
    let scope = match (constraint, global, memcg.as_deref()) {
        (Some("CONSTRAINT_CPUSET"), _, _) => Some(nodes("cpuset", "mems_allowed")),
        (Some("CONSTRAINT_MEMORY_POLICY"), _, _) => Some(nodes("memory policy", "nodemask")),
        (Some(c), _, _) if !matches!(c, "CONSTRAINT_NONE" | "CONSTRAINT_MEMCG") => None,
        (Some("CONSTRAINT_NONE"), Some(true), _) => Some("when the whole host ran out of memory".to_owned()),
        // Old kernels print no constraint: their "Out of memory" rules out a memory cgroup, not a cpuset or a
        // memory policy that narrowed the nodes.
        (_, Some(true), _) => Some(
            "when memory ran out outside any memory cgroup (this kernel's log gives no constraint, so it does not say whether a cpuset or memory policy narrowed it to some nodes or the whole host ran out)"
                .to_owned(),
        ),
        (_, Some(false), Some(m)) => Some(format!("because memory cgroup {m} hit its limit")),
        (_, Some(false), None) => Some("because a memory cgroup the log does not name hit its limit".to_owned()),
        (_, None, _) => None,
    };
    let unsaid = match constraint {
        Some(c) if !matches!(c, "CONSTRAINT_NONE" | "CONSTRAINT_MEMCG" | "CONSTRAINT_CPUSET" | "CONSTRAINT_MEMORY_POLICY") => {
            format!("the log gives the constraint {c}, which does not say whether the whole host, a memory cgroup or a subset of memory nodes ran out")
        }
        _ => "the log kept does not say whether the whole host or a memory cgroup ran out of memory".to_owned(),
    };
    f.reasoning = match (scope, chosen) {
        (Some(scope), None) => format!("The kernel's OOM killer killed it {scope} ({rss}{adj}).{rank}"),
        (Some(scope), Some(p)) => {
            format!("The kernel's OOM killer killed it {scope}: it chose its parent {p} and killed this child of it instead ({rss}{adj}).{rank}")
        }
        (None, _) => format!("The kernel's OOM killer killed it ({rss}{adj}); {unsaid}.{rank}"),
    };
}

/// A task dump row's memory as the kernel's badness counts it (mm/oom_kill.c oom_badness: rss + swap entries +
/// page tables, in pages), before oom_score_adj. Page tables are `nr_ptes` pages (≤ 4.18) or
/// `pgtables_bytes` (4 KiB pages assumed, as on x86-64).
fn dump_pages(d: &Event) -> i64 {
    let pt = d.field_i64("nr_ptes").unwrap_or_else(|| d.field_i64("pgtables_bytes").unwrap_or(0) / 4096);
    d.field_i64("rss_pages").unwrap_or(0).saturating_add(d.field_i64("swapents").unwrap_or(0)).saturating_add(pt)
}

/// The killable row (oom_score_adj above -1000) with the most pages; ties go to the lower pid.
fn dump_largest<'a>(dump: &[&'a Event]) -> Option<&'a Event> {
    dump.iter()
        .copied()
        .filter(|d| d.field_i64("oom_score_adj") != Some(-1000))
        .max_by_key(|d| (dump_pages(d), std::cmp::Reverse(d.pid)))
}

/// What the OOM episode's task dump shows of `pid` (the task the kernel chose) against the other tasks: only
/// what the rows hold, and nothing when there is no dump.
fn dump_rank(dump: &[&Event], pid: Option<i64>, parent: bool) -> String {
    let who = if parent { "the parent it chose" } else { "it" };
    if dump.is_empty() {
        return " No task dump of this OOM is in the bundle, so how its memory compared with other tasks' is not shown.".into();
    }
    let Some(row) = dump.iter().find(|d| d.pid.is_some() && d.pid == pid) else {
        return format!(" The task dump of this OOM ({} rows) does not list {who}.", dump.len());
    };
    let mine = dump_pages(row);
    let adjs: std::collections::BTreeSet<i64> = dump.iter().filter_map(|d| d.field_i64("oom_score_adj")).collect();
    let adj_note = if adjs.len() > 1 { "; their oom_score_adj values differ, which the kernel adds to the ranking" } else { "" };
    if dump.len() == 1 {
        return format!(" The task dump of this OOM lists only {who} (rss + swap + page tables {mine} pages).");
    }
    match dump_largest(dump) {
        Some(top) if top.pid == row.pid => format!(
            " The task dump of this OOM lists {} tasks; {who} had the most rss + swap + page tables ({mine} pages){adj_note}.",
            dump.len()
        ),
        Some(top) => format!(
            " The task dump of this OOM lists {} tasks; {who} had {mine} pages of rss + swap + page tables, fewer than pid {} ({}, {} pages){adj_note}.",
            dump.len(),
            top.pid.unwrap_or(0),
            top.field_str("name").or(top.comm.as_deref()).unwrap_or("?"),
            dump_pages(top)
        ),
        None => format!(" The task dump of this OOM lists {} tasks, none of them killable (oom_score_adj -1000).", dump.len()),
    }
}

fn close_us(a: Option<Utc>, b: Option<Utc>, w: i64) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x.unix_micros() - y.unix_micros()).abs() <= w,
        _ => false,
    }
}

/// Core file and core-limit facts for a crash.
fn core_details(f: &mut Finding, g: &Group, cx: &Context) {
    let core = g.obs.iter().find(|o| o.kind == ObsKind::Core).map(|o| &cx.events[o.event]).or_else(|| {
        cx.of_kind(EventKind::CoreDumped).find(|e| {
            e.pid.is_some() && e.pid == f.victim.pid && close_us(e.timestamp.sort_key(), g.time(), 3_600_000_000)
        })
    });
    match core {
        Some(c) => {
            if !f.evidence.iter().any(|x| x.origin == c.origin) {
                f.evidence.push(evidence(c, "core dump"));
            }
            for k in ["core_entry", "si_code", "si_addr", "psargs", "truncated", "exe"] {
                if let Some(v) = c.fields.get(k) {
                    f.details.insert(format!("core_{}", k.trim_start_matches("core_")), v.to_json());
                }
            }
            match (c.field_str("core_entry"), c.field_str("core_file")) {
                (Some(entry), _) => f.reasoning.push_str(&format!(" Its core file is in the bundle ({entry}).")),
                (None, Some(path)) => f.reasoning.push_str(&format!(" A core was stored on the host at {path} (not in the bundle).")),
                (None, None) => f.reasoning.push_str(&format!(" The dump is recorded in {}.", c.origin.entry)),
            }
        }
        None => {
            let why = cx.no_core_reason();
            f.details.insert("core".into(), serde_json::json!({"present": false, "why": why}));
            f.missing.push(format!("a core file: {why}"));
        }
    }
}

/// Fills sender details from the other indexes: parent chain, via, login origin, command.
/// Cites the timeline events `records` (by index) under `role`, each once per finding.
fn cite(f: &mut Finding, cx: &Context, records: &[usize], role: &str) {
    for &i in records {
        if let Some(e) = cx.events.get(i) {
            if !f.evidence.iter().any(|x| x.origin == e.origin) {
                f.evidence.push(evidence(e, role));
            }
        }
    }
}

fn enrich_killer(k: &mut Killer, f: &mut Finding, g: &Group, cx: &Context, t: Option<Utc>) {
    if let Some(pid) = k.pid {
        // Records of an earlier process that had this pid (pids are reused) are not the sender's: where the
        // recorder saw the sender's exe, the records must show the same one.
        let described = cx.index.describe(pid, t);
        let other_process = described.as_ref().is_some_and(|info| match (k.exe.as_deref(), info.exe.as_deref()) {
            (Some(seen), Some(rec)) => seen != rec,
            _ => false,
        });
        if let Some(info) = described.filter(|_| !other_process) {
            // The sender's exe, name and command line below come from these records.
            cite(f, cx, &info.records(), "record describing the sender");
            k.exe = k.exe.take().or(info.exe);
            k.comm = k.comm.take().or(info.comm);
            // EXECVE's argv beats the SYSCALL's PROCTITLE: the kernel caches a task's proctitle the first time
            // it is logged and keeps it across execve, so a process audited before it exec'd (a failed PATH
            // candidate, say) shows its parent's old command line there.
            if info.argv.is_some() {
                k.command = info.argv;
            }
        }
        let (chain, chain_records) = if other_process { Default::default() } else { cx.index.parent_chain_with_records(pid, t) };
        cite(f, cx, &chain_records, "record of the sender's parent chain");
        // A chain already given (the recorder's, `comm (pid)`) stays unless the records here reach as far.
        if chain.len() >= k.parent_chain.len() {
            k.parent_chain = chain.iter().map(|(p, c)| c.clone().unwrap_or_else(|| format!("pid {p}"))).collect();
        }
        let names: Vec<&str> = std::iter::once(k.comm.as_deref().unwrap_or(""))
            .chain(k.parent_chain.iter().map(|c| chain_name(c)))
            .collect();
        let cron_pids: Vec<i64> = cx
            .of_kind(EventKind::CronRun)
            .filter(|e| close_us(e.timestamp.sort_key(), t, 3_600_000_000))
            .filter_map(|e| e.pid)
            .collect();
        let via = if pid == 1 || k.comm.as_deref() == Some("systemd") {
            "systemd"
        } else if names.iter().any(|n| CRON.contains(n)) || chain.iter().any(|(p, _)| cron_pids.contains(p)) {
            "cron"
        } else if names.contains(&"sudo") {
            "sudo"
        } else if names.iter().any(|n| SHELLS.contains(n)) && (names.iter().any(|n| *n == "sshd" || *n == "login") || k.tty.is_some()) {
            "shell"
        } else if names.contains(&"sshd") {
            "ssh"
        } else if f.victim.pid.and_then(|v| cx.index.describe(v, t)).and_then(|i| i.ppid) == Some(pid) {
            "parent"
        } else if names.iter().any(|n| SHELLS.contains(n)) {
            "shell"
        } else {
            "process"
        };
        f.via = Some(via.into());
        if via == "parent" {
            f.reasoning.push_str(" The sender was the victim's own parent.");
        }
    }
    // Where the login came from: a session of the login user (auid) covering the time.
    // Without a login uid (auid unset: no PAM login in the chain) the sender's own user is the best guess.
    let who = k
        .auser
        .clone()
        .or_else(|| k.auid.and_then(|a| cx.index.user_names.get(&a).cloned()))
        .or_else(|| if k.auid.is_none() { k.user.clone() } else { None });
    if let (Some(u), Some(t)) = (who.as_deref(), t) {
        if let Some(s) = active_session(cx, u, t) {
            k.login_from = s.host.clone();
            if k.tty.is_none() {
                k.tty = s.tty.clone();
            }
            f.evidence.push(evidence(&cx.events[s.event], "login session of the sender's login user"));
        }
    }
    if k.auser.is_none() {
        k.auser = k.auid.and_then(|a| cx.index.user_names.get(&a).cloned());
    }
    // A history line of the same kill, from the login user, adds the command as typed.
    if let Some(o) = g.first(ObsKind::HistoryKill) {
        let e = &cx.events[o.event];
        k.command = e.command().map(str::to_owned).or(k.command.take());
    }
}

/// The name in a parent-chain entry: `bash` of the recorder's `bash (32371)`, or the entry as it is.
fn chain_name(c: &str) -> &str {
    match c.rsplit_once(" (") {
        Some((name, pid)) if pid.strip_suffix(')').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) => name,
        _ => c,
    }
}

/// A kill syscall as called: `kill(0, SIGTERM)`.
fn kill_call(e: &Event) -> String {
    format!(
        "{}({}, {})",
        e.syscall().unwrap_or("kill"),
        e.target_arg().map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
        e.signal().map(|s| signal_of(s).name).unwrap_or_else(|| "?".into())
    )
}

/// What a group or broadcast kill's argument addressed.
fn group_scope(e: &Event) -> String {
    match e.target_arg() {
        Some(0) => "a signal to its own process group".into(),
        Some(-1) => "a broadcast to every process it could signal".into(),
        Some(a) if a < -1 => format!("a signal to process group {}", -a),
        _ => "a signal to a list of processes".into(),
    }
}

/// Programs that run scripts: a `#!` script's comm is the script's name while its exe is one of these.
const INTERPRETERS: [&str; 20] = [
    "bash", "sh", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "busybox", "python", "perl", "ruby", "node", "nodejs", "php",
    "lua", "tclsh", "gawk", "awk",
];

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// An executable's name without its version suffix (`python3.11` → `python`).
fn is_interpreter(exe_base: &str) -> bool {
    let bare = exe_base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.contains(&bare) || INTERPRETERS.contains(&exe_base)
}

/// Whether a comm (cut by the kernel to 15 bytes) is the name `name`.
fn comm_is(comm: &str, name: &str) -> bool {
    name == comm || comm.len() == 15 && name.as_bytes().starts_with(comm.as_bytes())
}

/// When a sender's comm differs from its executable's name, what the records show about why: a `#!` script
/// (comm = the script, exe = its interpreter), a link or multi-call name (comm = the name it was started by),
/// or a rename after exec (comm matches nothing it was started as). `args`/`paths` come from its execve record;
/// without one, the kill record's PROCTITLE (cached by the kernel, split at spaces) stands in for the arguments.
fn name_note(k: &Killer, args: Option<&[String]>, paths: &[String], proctitle: Option<&str>) -> String {
    let (Some(comm), Some(exe)) = (k.comm.as_deref(), k.exe.as_deref()) else { return String::new() };
    let base = basename(exe);
    let c = comm.trim();
    let same = base.starts_with(c) || c.starts_with(base) || base.split(['.', '-']).next().is_some_and(|b| !b.is_empty() && c.starts_with(b));
    if same {
        return String::new();
    }
    if comm.contains('/') {
        return format!(
            " Its comm \"{comm}\" holds a '/', which no file name can, so it was renamed after exec (prctl PR_SET_NAME or a write to /proc/PID/comm); its executable is {exe}."
        );
    }
    let title: Option<Vec<String>> = proctitle.filter(|_| args.is_none()).map(|t| t.split(' ').map(str::to_owned).collect());
    let (args, from) = match (args, title.as_deref()) {
        (Some(a), _) => (Some(a), "its exec record's argv"),
        (None, Some(t)) => (Some(t), "the PROCTITLE the kernel cached for it"),
        (None, None) => (None, ""),
    };
    if let Some(a) = args {
        // A #! script runs as [interpreter, (one option), script, its arguments…].
        if let Some(script) = a.iter().skip(1).take(2).find(|x| comm_is(comm, basename(x))) {
            return format!(" It ran the script {script} with the interpreter {exe}, as {from} shows: a #! script's comm is the script's name.");
        }
        if let Some(p) = paths.iter().find(|p| comm_is(comm, basename(p))) {
            return format!(" It was started as {p}, a link to or another name of its executable {exe}: comm is the name it was started by.");
        }
        let a0 = a.first().map(String::as_str).unwrap_or("");
        if comm_is(comm, basename(a0)) {
            return format!(
                " Its comm and argv[0] are \"{comm}\" while its executable is {exe}: it was started by that name, through a link or a multi-call binary."
            );
        }
        let unnamed = if paths.is_empty() { " (or started through a link of that name, which no PATH record here shows)" } else { "" };
        return format!(
            " Its comm \"{comm}\" matches neither its executable {exe} nor the argv[0] \"{a0}\" of {from}: it was renamed after exec (prctl PR_SET_NAME or a write to /proc/PID/comm){unnamed}."
        );
    }
    if is_interpreter(base) {
        return format!(
            " Its comm is \"{comm}\" and its executable the interpreter {exe}: a #! script's comm is the script's name, but no record shows its arguments, so whether it ran a script of that name or renamed itself is not shown."
        );
    }
    format!(" Its comm is \"{comm}\" and its executable {exe}; the records do not show why they differ.")
}

fn active_session<'a>(cx: &'a Context, user: &str, t: Utc) -> Option<&'a Session> {
    cx.sessions_by_user.get(user)?.covering(t).into_iter().map(|i| &cx.sessions[i]).max_by_key(|s| s.start)
}

fn unit_signal(f: &mut Finding, g: &Group, cx: &Context) {
    if let Some(o) = g.first(ObsKind::UnitDeath) {
        if let Some(s) = o.signal {
            f.signal = Some(signal_of(s));
        }
        f.evidence.sort_by_key(|e| e.origin.clone());
        let _ = cx;
    }
}

fn unit_death(f: &mut Finding, g: &Group, cx: &Context) {
    let ev = cx.events;
    let recs: Vec<&Event> = g.obs.iter().filter(|o| o.kind == ObsKind::UnitDeath).map(|o| &ev[o.event]).collect();
    let result = recs.iter().find_map(|e| e.field_str("result"));
    let code = recs.iter().find_map(|e| e.field_str("code"));
    let sig = g.obs.iter().find_map(|o| o.signal);
    f.via = Some("systemd".into());
    if let Some(r) = result {
        f.details.insert("result".into(), serde_json::json!(r));
    }
    if let Some(c) = code {
        f.details.insert("code".into(), serde_json::json!(c));
    }
    match (result, code, sig) {
        (Some("oom-kill"), _, _) => {
            f.cause = Cause::OomKill;
            f.signal = Some(signal_of(9));
            f.confidence = Confidence::Certain;
            f.via = Some("kernel".into());
            // systemd sets this result for the kernel's OOM kills in the unit's cgroup and for systemd-oomd's.
            f.via = None;
            f.reasoning = "systemd reports the unit failed with result 'oom-kill': an OOM kill, by the kernel's OOM killer or by systemd-oomd, hit a process in its cgroup.".into();
            f.missing.push("the kernel's or systemd-oomd's record of the kill (the logs kept no longer hold it)".into());
        }
        (_, Some("dumped"), Some(s)) | (Some("core-dump"), _, Some(s)) if is_crash_signal(s) => {
            f.cause = Cause::Crash;
            f.signal = Some(signal_of(s));
            f.confidence = Confidence::Certain;
            f.reasoning = format!("systemd reports the main process dumped core on {}.", signal_of(s).name);
            core_details(f, g, cx);
        }
        (_, Some("exited"), _) => {
            f.cause = Cause::Exit;
            f.confidence = Confidence::Certain;
            f.reasoning = "systemd reports the main process exited by itself (code=exited).".into();
            if let Some(st) = recs.iter().find_map(|e| e.field_str("status")) {
                f.details.insert("status".into(), serde_json::json!(st));
            }
        }
        (_, _, Some(s)) if matches!(s, 24 | 25) => {
            f.cause = Cause::ResourceLimit;
            f.signal = Some(signal_of(s));
            f.confidence = Confidence::Certain;
            f.reasoning = format!("systemd reports the main process was killed by {}, which the kernel sends when a resource limit is exceeded.", signal_of(s).name);
        }
        (_, _, sig) => {
            f.cause = Cause::Unknown;
            f.signal = sig.map(signal_of);
            f.confidence = Confidence::Possible;
            f.reasoning = format!(
                "systemd saw the main process die{}, but no record in the bundle names who sent the signal.",
                sig.map(|s| format!(" of {}", signal_of(s).name)).unwrap_or_default()
            );
            f.missing.push("a record naming the sender (audit kill rule or a signal recorder)".into());
        }
    }
}

/// When a history line ran, as far as its timestamp says: an undated line is only bounded (by the previous dated
/// line and the file's mtime), and a bound later than the death does not put it near the death.
fn when_ran(t: &coroner_schemas::Timestamp) -> String {
    let at = |u: &Utc| u.rfc3339();
    match t {
        coroner_schemas::Timestamp::Bounded { after, before } => match (after, before) {
            (Some(a), Some(b)) => format!("undated: after {} and before {}", at(a), at(b)),
            (None, Some(b)) => format!("undated: before {}", at(b)),
            (Some(a), None) => format!("undated: after {}", at(a)),
            (None, None) => "undated".into(),
        },
        other => other.sort_key().map(|u| format!("dated {}", at(&u))).unwrap_or_else(|| "undated".into()),
    }
}

/// Who could have done it: sessions open then, cron jobs due that minute, kill commands in histories near it.
fn unknown_candidates(f: &mut Finding, cx: &Context, t: Option<Utc>) {
    let Some(t) = t else { return };
    for s in cx.sessions_at.covering(t).into_iter().map(|i| &cx.sessions[i]) {
        f.candidates.push(candidate(
            format!(
                "{} was logged in{}{}",
                s.user,
                s.tty.as_deref().map(|x| format!(" on {x}")).unwrap_or_default(),
                s.host.as_deref().map(|h| format!(" from {h}")).unwrap_or_default()
            ),
            cx.events.get(s.event),
        ));
    }
    for j in cx.facts.cron_jobs.iter().filter(|j| j.due_at(t)) {
        f.candidates.push(Candidate {
            description: format!("cron job of {} due at that minute: {}", j.run_as.as_deref().unwrap_or("?"), j.command),
            evidence: vec![EvidenceRef { origin: j.origin.clone(), role: "candidate".into(), raw: j.raw.clone() }],
        });
    }
    // `kill -0` sends no signal (it asks whether the process exists): no candidate for a sender.
    for e in cx.of_kind(EventKind::KillCommand).filter(|e| e.signal() != Some(0)) {
        let near = match &e.timestamp {
            coroner_schemas::Timestamp::Bounded { after, before } => {
                after.is_none_or(|a| a.unix_micros() <= t.unix_micros() + 600_000_000) && before.is_none_or(|b| b.unix_micros() >= t.unix_micros() - 600_000_000)
            }
            other => close_us(other.sort_key(), Some(t), 1_800_000_000),
        };
        let names = f.victim.comm.as_deref().unwrap_or("\u{0}");
        let targets_victim = e.fields.get("target_names").and_then(|v| v.as_array()).is_some_and(|a| {
            a.iter().filter_map(|x| x.as_str()).any(|n| names.starts_with(n) || n.starts_with(names) || n.contains(names))
        }) || f.victim.pid.is_some_and(|v| e.target_pids().contains(&v));
        if near || targets_victim {
            f.candidates.push(candidate(
                format!(
                    "{} ran `{}`{}",
                    e.user.as_deref().unwrap_or("a user"),
                    e.command().unwrap_or("?"),
                    if targets_victim { format!(" (names this process; {})", when_ran(&e.timestamp)) } else { format!(" ({})", when_ran(&e.timestamp)) }
                ),
                Some(e),
            ));
        }
    }
    f.candidates.truncate(25);
}


/// A recorder's interval in a sentence (`48 µs`, `1.2 ms`).
fn micros_text(us: Option<i64>) -> String {
    us.and_then(|u| u64::try_from(u).ok()).map_or_else(|| "some time".into(), crate::sources::watch::micros)
}
