//! The lifecycle's logic on a fake runtime: order, parallelism, what
//! happens after a failure or an interrupt. No server runs; each test takes
//! milliseconds. (The same paths against real servers are the integration
//! tests' business.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::down::{down_with, reset_with, ResetOptions};
use super::snapshot::{restore_with, save_with, RestoreOptions};
use super::up::{up_with, UpAction, UpOptions};
use crate::config::load;
use crate::config::model::{LoadOptions, StackConfig};
use crate::error::Error;
use crate::events::{Event, Phase, Reporter};
use crate::interrupt::Interrupt;
use crate::runtime::fake::FakeRuntime;
use crate::runtime::registry::Runtimes;
use crate::snapshot::store::Store;
use crate::state::StateDir;

/// A stack of generic services in a temporary project; each line is
/// `name` or `name: dependency, ...`.
struct Project {
    _dir: tempfile::TempDir,
    config: StackConfig,
    state: StateDir,
}

fn project(services: &[&str]) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name = \"fake\"\n");
    for line in services {
        let (name, deps) = line.split_once(':').unwrap_or((line, ""));
        let deps: Vec<String> = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| format!("\"{d}\""))
            .collect();
        text.push_str(&format!(
            "[services.{name}]\ncommand = [\"serve\"]\nready = {{ exec = [\"true\"] }}\ndepends_on = [{}]\n",
            deps.join(", ")
        ));
    }
    let file = dir.path().join("berth.toml");
    let config = load::parse(&file, text, &LoadOptions::default(), &|_| None).unwrap();
    let state = StateDir::for_stack(dir.path(), "fake");
    Project {
        _dir: dir,
        config,
        state,
    }
}

fn runtimes(fake: &Arc<FakeRuntime>) -> Runtimes {
    let fake = Arc::clone(fake);
    Runtimes::from_factory(move |_| Ok(fake.clone()))
}

/// Keeps the phases each service went through.
#[derive(Default)]
struct Phases(Mutex<Vec<(String, Phase)>>);

impl Reporter for Phases {
    fn event(&self, event: Event) {
        if let Event::Phase { service, phase } = event {
            self.0.lock().unwrap().push((service.to_string(), phase));
        }
    }
}

impl Phases {
    fn of(&self, service: &str) -> Vec<Phase> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|(s, _)| s == service)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

fn options() -> UpOptions {
    UpOptions {
        write_env: false,
        interrupt: Interrupt::private(),
        ..UpOptions::default()
    }
}

fn position(calls: &[crate::runtime::fake::Call], what: &str, service: &str) -> usize {
    calls
        .iter()
        .position(|c| c.what == what && c.service == service)
        .unwrap_or_else(|| panic!("no {what} of {service} in {calls:?}"))
}

#[test]
fn up_starts_each_service_once_what_it_depends_on_is_ready() {
    let p = project(&["app: api", "api: db", "db", "cache"]);
    let fake = Arc::new(FakeRuntime::new());
    let (_, reports) = up_with(
        p.config,
        p.state,
        &runtimes(&fake),
        &options(),
        &Phases::default(),
    )
    .unwrap();
    let calls = fake.calls();
    assert!(position(&calls, "probe", "db") < position(&calls, "start", "api"));
    assert!(position(&calls, "probe", "api") < position(&calls, "start", "app"));
    assert_eq!(reports.len(), 4);
    assert!(reports.iter().all(|r| r.action == UpAction::Initialized));
}

#[test]
fn independent_services_start_at_the_same_time() {
    let p = project(&["a", "b", "c: a, b"]);
    let fake = Arc::new(FakeRuntime::new().start_time(Duration::from_millis(150)));
    up_with(
        p.config,
        p.state,
        &runtimes(&fake),
        &options(),
        &Phases::default(),
    )
    .unwrap();
    assert_eq!(fake.most_at_once(), 2, "a and b overlap; c waits for both");
}

#[test]
fn a_failed_start_skips_its_dependents_and_not_the_others() {
    let p = project(&["db", "api: db", "app: api", "cache"]);
    let fake = Arc::new(FakeRuntime::new().failing("db"));
    let phases = Phases::default();
    let err = up_with(p.config, p.state, &runtimes(&fake), &options(), &phases).unwrap_err();
    assert!(
        matches!(err, Error::CommandFailed { ref service, .. } if service == "db"),
        "{err}"
    );
    assert!(!fake.services("start").contains(&"api".to_string()));
    assert!(!fake.services("start").contains(&"app".to_string()));
    assert!(fake.services("start").contains(&"cache".to_string()));
    assert!(phases.of("api").contains(&Phase::Skipped {
        because: "db".into()
    }));
    assert!(phases.of("app").contains(&Phase::Skipped {
        because: "api".into()
    }));
}

#[test]
fn after_an_interrupt_nothing_more_starts_and_up_says_so() {
    let p = project(&["db", "api: db"]);
    let interrupt = Interrupt::private();
    let during = interrupt.clone();
    let fake = Arc::new(FakeRuntime::new().on_start(move |_| during.request()));
    let options = UpOptions {
        interrupt,
        ..options()
    };
    let err = up_with(
        p.config,
        p.state,
        &runtimes(&fake),
        &options,
        &Phases::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Interrupted), "{err}");
    assert_eq!(fake.services("start"), ["db"]);
}

#[test]
fn up_on_a_running_stack_starts_nothing() {
    let p = project(&["db", "api: db"]);
    let fake = Arc::new(FakeRuntime::new());
    let rt = runtimes(&fake);
    up_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        &options(),
        &Phases::default(),
    )
    .unwrap();
    let (_, reports) = up_with(p.config, p.state, &rt, &options(), &Phases::default()).unwrap();
    assert_eq!(fake.services("start"), ["db", "api"]);
    assert!(reports.iter().all(|r| r.action == UpAction::AlreadyRunning));
}

#[test]
fn down_stops_dependents_first_and_reset_wipes_everything() {
    let p = project(&["db", "api: db", "app: api"]);
    let fake = Arc::new(FakeRuntime::new());
    let rt = runtimes(&fake);
    up_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        &options(),
        &Phases::default(),
    )
    .unwrap();
    let stopped = down_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        &Interrupt::private(),
        &Phases::default(),
    )
    .unwrap();
    assert_eq!(stopped.len(), 3);
    assert_eq!(fake.services("stop"), ["app", "api", "db"]);
    assert!(fake.services("wipe").is_empty(), "down keeps data");
    let options = ResetOptions {
        snapshot: true,
        interrupt: Interrupt::private(),
    };
    let taken = reset_with(p.config, p.state.clone(), &rt, &options, &Phases::default()).unwrap();
    let mut wiped = fake.services("wipe");
    wiped.sort();
    assert_eq!(wiped, ["api", "app", "db"]);
    assert!(!p.state.exists(), "reset removes the state directory");
    let taken = taken.expect("a snapshot of the data first");
    assert_eq!(taken.automatic.as_deref(), Some("before `berth reset`"));
    assert_eq!(taken.services.len(), 3);
    assert!(
        Store::of(&p.state).exists(&taken.name),
        "the snapshot outlives the state directory"
    );
}

#[test]
fn a_restore_switches_every_service_at_one_step_and_keeps_what_it_replaced() {
    let p = project(&["db", "app: db"]);
    let fake = Arc::new(FakeRuntime::new());
    let rt = runtimes(&fake);
    up_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        &UpOptions {
            interrupt: Interrupt::private(),
            ..UpOptions::default()
        },
        &Phases::default(),
    )
    .unwrap();
    let saved = save_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        Some("one".into()),
        &Interrupt::private(),
        &Phases::default(),
    )
    .unwrap();
    assert_eq!(saved.manifest.services.len(), 2);
    assert!(
        fake.services("start").len() >= 4,
        "stopped for the copy and started again"
    );
    let again = save_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        Some("one".into()),
        &Interrupt::private(),
        &Phases::default(),
    );
    assert_eq!(again.unwrap_err().exit_code(), 2, "a name is taken once");

    let options = RestoreOptions::new(Interrupt::private());
    let restored = restore_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        "one",
        &options,
        &Phases::default(),
    )
    .unwrap();
    assert!(restored.restarted);
    let state = p.state.load().unwrap();
    assert_eq!(state.generations.get("db"), Some(&1));
    assert_eq!(state.generations.get("app"), Some(&1));
    let safety = restored.safety.expect("the replaced data is kept");
    let store = Store::of(&p.state);
    assert_eq!(
        store.manifest(&safety).unwrap().automatic.as_deref(),
        Some("before restoring `one`")
    );

    // Untouched since it was checked, a snapshot is not read again, unless
    // asked; then it is.
    let checksummed = |verify: bool| {
        let phases = Phases::default();
        let options = RestoreOptions {
            verify,
            safety_snapshot: false,
            ..RestoreOptions::new(Interrupt::private())
        };
        restore_with(
            p.config.clone(),
            p.state.clone(),
            &rt,
            "one",
            &options,
            &phases,
        )
        .unwrap();
        phases.of("db").contains(&Phase::Checksumming)
    };
    assert!(!checksummed(false), "the fingerprint shows it untouched");
    assert!(checksummed(true), "--verify reads it all");

    // A damaged snapshot is refused before anything changes.
    std::fs::write(store.path("one").join("db").join("data"), "not db").unwrap();
    let e = restore_with(
        p.config.clone(),
        p.state.clone(),
        &rt,
        "one",
        &options,
        &Phases::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains(
            "snapshot `one` is damaged: the data of service `db` does not match its checksum"
        ),
        "{e}"
    );
    assert_eq!(
        p.state.load().unwrap().generations.get("db"),
        Some(&3),
        "nothing changed"
    );
    let e = restore_with(
        p.config,
        p.state.clone(),
        &rt,
        "nope",
        &options,
        &Phases::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("there is no snapshot `nope`"), "{e}");
}
