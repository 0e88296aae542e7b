//! Time from asking for a fresh migrated database to a usable connection,
//! p50 and p95, beside the alternatives measured in the same run:
//!   - the floor: the same 8 test processes, each test only opening a new
//!     connection to a database that exists (the test's own login, which
//!     no way of making databases saves), the way berth's URLs go (the
//!     Unix socket, where the stack has one) and over TCP with the
//!     password;
//!   - berth, from the pool of databases cloned ahead, under 8 parallel
//!     test processes that each hold their database for a while (the test);
//!   - berth, cloned on request (no pool): a clone of the template, then
//!     connect;
//!   - `CREATE DATABASE` + applying the migrations (and seeds) to it;
//!   - a fresh native server per test: init, start, migrate (`berth up` of
//!     a new instance);
//!   - a fresh container per test, when the engine has a postgres image.
//!
//!   scripts/bench-testdb [REQUESTS]     (default 200)
//!
//! Compare the figures; never turn them into test thresholds.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth::testing::TestStack;

const MIGRATIONS: usize = 50;

/// Parallel test processes in the pooled measurement.
const PROCESSES: usize = 8;
/// How long each test holds its database (its own work), on average: the
/// tests last from half to one and a half times this. Tests of one length
/// would keep the 8 processes in step, all asking at the same instant in
/// every round, which no real suite does.
const TEST_MS: u64 = 200;

fn main() {
    if let Ok(file) = std::env::var("BENCH_TESTDB_WORKER") {
        return worker(Path::new(&file));
    }
    let requests: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let project = tempfile::Builder::new()
        .prefix("berth-bench-testdb-")
        .tempdir()
        .unwrap();
    let dir = project.path();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write_project(dir);
    let file = dir.join("berth.toml");

    let started = Instant::now();
    let stack = TestStack::start(&file).expect("the test stack starts");
    let start_time = started.elapsed();
    let first = Instant::now();
    drop(stack.database().unwrap());
    let template_time = first.elapsed();
    // What every further test process (nextest) pays: attach to the running
    // stack, check it, clean up after killed runs.
    let attached = Instant::now();
    drop(TestStack::start(&file).expect("attaches"));
    let attach_time = attached.elapsed();

    // The maintenance database, which always exists: over TCP with the
    // password, and the way berth hands databases out (its URL, the Unix
    // socket where the stack has one).
    let (server, handed_way) = {
        let db = stack.database().unwrap();
        let i = db.info();
        let tcp = format!(
            "host={} port={} user={} password={} dbname=postgres",
            i.host,
            i.port,
            i.user,
            i.password.clone().unwrap_or_default()
        );
        let (base, _) = db.url().rsplit_once('/').unwrap();
        (tcp, format!("{base}/postgres"))
    };
    let over_socket = handed_way.contains("@%2F");
    // The floor, then the pool: PROCESSES test processes at once, each
    // asking for a database per test (or only connecting to one that
    // exists) and holding it for the test's length.
    let per_process = requests.div_ceil(PROCESSES);
    // This process's pool filler, woken by the databases above, is done
    // by then.
    std::thread::sleep(Duration::from_secs(1));
    let (floor, _) = in_test_processes(&file, &handed_way, per_process, Mode::Floor);
    let (floor_tcp, _) = match over_socket {
        true => in_test_processes(&file, &server, per_process, Mode::Floor),
        false => (floor.clone(), Vec::new()),
    };
    let (pooled, handed) = in_test_processes(&file, &server, per_process, Mode::Pool);

    // Cloned on request, one test after another.
    let unpooled = TestStack::builder(&file).pool(0).start().unwrap();
    let mut berth = Vec::new();
    for _ in 0..requests {
        let t = Instant::now();
        let db = unpooled.database().unwrap();
        let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
        c.simple_query("SELECT 1").unwrap();
        berth.push(t.elapsed());
        drop(c);
        drop(db);
    }
    drop(unpooled);

    // CREATE DATABASE + the migrations and seeds, by hand: one transaction
    // per file over one connection, the way a test suite without templates
    // prepares its database.
    let files = sql_files(dir);
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    let mut migrate = Vec::new();
    for n in 0..(requests / 10).max(5) {
        let name = format!("bench_by_hand_{n}");
        let t = Instant::now();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut c = postgres::Client::connect(
            &server.replace("dbname=postgres", &format!("dbname={name}")),
            postgres::NoTls,
        )
        .unwrap();
        for sql in &files {
            c.batch_execute(&format!("BEGIN; {sql}; COMMIT")).unwrap();
        }
        c.simple_query("SELECT 1").unwrap();
        migrate.push(t.elapsed());
        drop(c);
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    }

    // A fresh native server per test: a new instance, initialized, started,
    // migrated and seeded, then deleted.
    let berth_bin = env!("CARGO_BIN_EXE_berth");
    let mut fresh = Vec::new();
    for i in 0..5 {
        let name = format!("bench-fresh-{i}");
        let t = Instant::now();
        run(berth_bin, dir, &["-p", "test", "--name", &name, "up"]);
        fresh.push(t.elapsed());
        run(
            berth_bin,
            dir,
            &["-p", "test", "--name", &name, "reset", "--yes"],
        );
    }
    let container = container_image();

    println!(
        "fresh migrated database ({MIGRATIONS} migrations + seeds) to first query, this machine\n"
    );
    println!(
        "{:58} {:>6} {:>9} {:>9} {:>9}",
        "way", "n", "p50 ms", "p95 ms", "vs berth"
    );
    let p50_berth = percentile(&pooled, 50.0);
    for (name, samples) in [
        (
            &*format!(
                "floor: a new connection only, {PROCESSES} processes{}",
                if over_socket { " (socket)" } else { "" }
            ),
            &floor,
        ),
        ("  the same over TCP with the password (SCRAM)", &floor_tcp),
        (
            &*format!("berth: from the pool, {PROCESSES} processes, ~{TEST_MS} ms tests"),
            &pooled,
        ),
        (
            "  of which handing it out (`database()`, no connect)",
            &handed,
        ),
        ("berth: cloned on request (pool 0)", &berth),
        ("CREATE DATABASE + migrations + seeds, by hand", &migrate),
        (
            "fresh native server per test (berth up of an instance)",
            &fresh,
        ),
    ] {
        let p50 = percentile(samples, 50.0);
        println!(
            "{name:58} {:>6} {:>9.1} {:>9.1} {:>8.1}x",
            samples.len(),
            ms(p50),
            ms(percentile(samples, 95.0)),
            p50.as_secs_f64() / p50_berth.as_secs_f64()
        );
    }
    match container {
        Some(image) => {
            let samples = container_per_test(&image, &files);
            let p50 = percentile(&samples, 50.0);
            println!(
                "{:58} {:>6} {:>9.1} {:>9.1} {:>8.1}x",
                "a container per test (docker run + wait + migrations)",
                samples.len(),
                ms(p50),
                ms(percentile(&samples, 95.0)),
                p50.as_secs_f64() / p50_berth.as_secs_f64()
            );
        }
        None => println!("a container per test: not measured, the engine has no postgres image (`scripts/images` builds one)"),
    }
    println!(
        "\nonce per run: test stack cold start {:.1} ms, template build {:.1} ms; attach to the running stack (per test process) {:.1} ms",
        ms(start_time),
        ms(template_time),
        ms(attach_time)
    );
    println!(
        "berth from the pool against the floor: p50 {:.2}x, p95 {:.2}x",
        ms(p50_berth) / ms(percentile(&floor, 50.0)),
        ms(percentile(&pooled, 95.0)) / ms(percentile(&floor, 95.0))
    );
    println!("target: from the pool p50 < 5 ms, p95 < 10 ms");
    run(
        berth_bin,
        dir,
        &["-p", "test", "--name", stack.name(), "reset", "--yes"],
    );
}

/// What each test of a measurement in parallel processes does.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Connect to a database that exists (the stack's own) and query it.
    Floor,
    /// Ask berth for a database, then connect to it and query it.
    Pool,
}

/// Run `tests` tests in each of PROCESSES processes at once; each
/// request's time to first query, and of it the time berth took to hand
/// the database out.
fn in_test_processes(
    file: &Path,
    server: &str,
    tests: usize,
    mode: Mode,
) -> (Vec<Duration>, Vec<Duration>) {
    let workers: Vec<_> = (0..PROCESSES)
        .map(|n| {
            Command::new(std::env::current_exe().unwrap())
                .env("BENCH_TESTDB_WORKER", file)
                .env("BENCH_TESTDB_TESTS", tests.to_string())
                .env("BENCH_TESTDB_SEED", (n + 1).to_string())
                .env("BENCH_TESTDB_SERVER", server)
                .env(
                    "BENCH_TESTDB_MODE",
                    if mode == Mode::Floor { "floor" } else { "pool" },
                )
                .env("BERTH_DB_POOL", PROCESSES.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = Vec::new();
    let mut handed = Vec::new();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut us = line.split(' ').filter_map(|n| n.parse::<u64>().ok());
            if let (Some(all), Some(own)) = (us.next(), us.next()) {
                total.push(Duration::from_micros(all));
                handed.push(Duration::from_micros(own));
            }
        }
    }
    (total, handed)
}

/// One test process of a parallel measurement: attach to the stack, then
/// run its tests, printing each request's time to first query (µs) and
/// of it the handing out.
fn worker(file: &Path) {
    let var = |k: &str| std::env::var(k).ok();
    let tests: usize = var("BENCH_TESTDB_TESTS")
        .and_then(|n| n.parse().ok())
        .unwrap_or(25);
    let mut seed: u64 = var("BENCH_TESTDB_SEED")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mode = match var("BENCH_TESTDB_MODE").as_deref() {
        Some("floor") => Mode::Floor,
        _ => Mode::Pool,
    };
    // The floor's processes leave the stack alone: attaching would start
    // filling the pool beside them.
    let stack = match mode {
        Mode::Floor => None,
        Mode::Pool => Some(TestStack::start(file).expect("attaches")),
    };
    let existing = var("BENCH_TESTDB_SERVER").unwrap_or_default();
    for _ in 0..tests {
        let t = Instant::now();
        let (db, url) = match &stack {
            None => (None, existing.clone()),
            Some(stack) => {
                let db = stack.database().unwrap();
                let url = db.url().to_string();
                (Some(db), url)
            }
        };
        let handed = t.elapsed();
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.simple_query("SELECT 1").unwrap();
        println!("{} {}", t.elapsed().as_micros(), handed.as_micros());
        // A pseudo-random length from TEST_MS/2 to 3*TEST_MS/2, the same
        // sequence in every run.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(
            TEST_MS / 2 + (seed >> 33) % (TEST_MS + 1),
        ));
        drop(c);
        drop(db);
    }
}

/// What Testcontainers does for each test: a new container of the image,
/// waited for until it answers a query, then the migrations applied.
fn container_per_test(image: &str, files: &[String]) -> Vec<Duration> {
    let mut samples = Vec::new();
    for i in 0..5 {
        let name = format!("berth-bench-testdb-{}-{i}", std::process::id());
        let t = Instant::now();
        let out = Command::new("docker")
            .args(["run", "-d", "--name", &name, "-p", "127.0.0.1::5432"])
            .args(["-e", "POSTGRES_PASSWORD=bench", image])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = String::from_utf8_lossy(
            &Command::new("docker")
                .args(["port", &name, "5432"])
                .output()
                .unwrap()
                .stdout,
        )
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
        let url =
            format!("host=127.0.0.1 port={port} user=postgres password=bench dbname=postgres");
        let mut client = loop {
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                if c.simple_query("SELECT 1").is_ok() {
                    break c;
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the container never answered"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for sql in files {
            client
                .batch_execute(&format!("BEGIN; {sql}; COMMIT"))
                .unwrap();
        }
        samples.push(t.elapsed());
        drop(client);
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    }
    samples
}

fn write_project(dir: &Path) {
    std::fs::write(
        dir.join("berth.toml"),
        "name = \"benchdb\"\n[services.db]\nkind = \"postgres\"\n\
         [profiles.test.services.db]\nsettings = { fsync = \"off\", synchronous_commit = \"off\", full_page_writes = \"off\" }\n",
    )
    .unwrap();
    let m = dir.join("migrations/db");
    std::fs::create_dir_all(&m).unwrap();
    for i in 1..=MIGRATIONS {
        std::fs::write(
            m.join(format!("{i:03}_table_{i}.sql")),
            format!(
                "CREATE TABLE t{i} (id bigserial PRIMARY KEY, name text NOT NULL, at timestamptz DEFAULT now());\n\
                 CREATE INDEX t{i}_name ON t{i} (name);\n"
            ),
        )
        .unwrap();
    }
    let s = dir.join("seeds/db");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(
        s.join("01_rows.sql"),
        "INSERT INTO t1 (name) SELECT 'row ' || g FROM generate_series(1, 1000) g;\n",
    )
    .unwrap();
}

/// The migration files, then the seed files, in the order they apply.
fn sql_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["migrations/db", "seeds/db"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    out
}

fn run(berth: &str, dir: &Path, args: &[&str]) {
    let out = Command::new(berth)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A postgres image on the local engine, if there is an engine and one.
fn container_image() -> Option<String> {
    let out = Command::new("docker")
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .ok()?;
    let images = String::from_utf8_lossy(&out.stdout).to_string();
    let found = images
        .lines()
        .find(|l| *l == "berth-test/postgres:15")
        .or_else(|| images.lines().find(|l| l.contains("postgres")));
    found.map(str::to_string)
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
