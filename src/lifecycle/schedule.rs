//! Run one job per service, each as soon as the services it waits for are
//! done, independent ones in parallel. `up` waits for dependencies; `down`
//! waits for dependents.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    Done(T),
    Failed,
    /// Not run because this predecessor did not succeed.
    Skipped(String),
}

/// `waits_for[i]` lists indexes that must finish before `i` runs. The graph
/// is acyclic (checked when the stack was built).
pub fn run<T: Send, E: Send>(
    count: usize,
    waits_for: &[Vec<usize>],
    job: &(dyn Fn(usize) -> Result<T, E> + Sync),
    name_of: &(dyn Fn(usize) -> String + Sync),
) -> (Vec<Outcome<T>>, Vec<(usize, E)>) {
    let finished: Mutex<HashMap<usize, bool>> = Mutex::new(HashMap::new());
    let changed = Condvar::new();
    let errors = Mutex::new(Vec::new());
    let outcomes: Vec<Mutex<Option<Outcome<T>>>> = (0..count).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for i in 0..count {
            let (finished, changed, errors, outcomes) = (&finished, &changed, &errors, &outcomes);
            scope.spawn(move || {
                // Whatever happens in the job, even a panic, its dependents
                // must hear that it finished, or they would wait forever
                // (the panic then surfaces when the scope ends).
                let _finish = Finish {
                    i,
                    finished,
                    changed,
                };
                let blocked_by = {
                    let mut done = finished.lock().unwrap();
                    loop {
                        if let Some(&p) = waits_for[i].iter().find(|p| done.get(p) == Some(&false))
                        {
                            break Some(p);
                        }
                        if waits_for[i].iter().all(|p| done.contains_key(p)) {
                            break None;
                        }
                        done = changed.wait(done).unwrap();
                    }
                };
                let outcome = match blocked_by {
                    Some(p) => Outcome::Skipped(name_of(p)),
                    None => match job(i) {
                        Ok(v) => Outcome::Done(v),
                        Err(e) => {
                            errors.lock().unwrap().push((i, e));
                            Outcome::Failed
                        }
                    },
                };
                let ok = matches!(outcome, Outcome::Done(_));
                *outcomes[i].lock().unwrap() = Some(outcome);
                finished.lock().unwrap().insert(i, ok);
            });
        }
    });
    let mut errors = errors.into_inner().unwrap();
    errors.sort_by_key(|(i, _)| *i);
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.into_inner().unwrap().unwrap())
        .collect();
    (outcomes, errors)
}

/// Marks job `i` finished when dropped: failed, unless the job recorded
/// success first.
struct Finish<'a> {
    i: usize,
    finished: &'a Mutex<HashMap<usize, bool>>,
    changed: &'a Condvar,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut done = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        done.entry(self.i).or_insert(false);
        drop(done);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_after_predecessors_and_skips_after_failure() {
        let clock = AtomicUsize::new(0);
        let stamps: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        // 0 <- 1 <- 2, and 3 depends on a failing 0? no: 3 waits for 2.
        let waits = vec![vec![], vec![0], vec![1], vec![2]];
        let job = |i: usize| -> Result<(), ()> {
            stamps[i].store(clock.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
            if i == 2 {
                Err(())
            } else {
                Ok(())
            }
        };
        let (outcomes, errors) = run(4, &waits, &job, &|i| format!("s{i}"));
        assert!(stamps[0].load(Ordering::SeqCst) < stamps[1].load(Ordering::SeqCst));
        assert_eq!(errors.len(), 1);
        assert_eq!(outcomes[3], Outcome::Skipped("s2".into()));
    }

    #[test]
    fn a_panicking_job_ends_the_run_instead_of_hanging_its_dependents() {
        let job = |i: usize| -> Result<(), ()> {
            if i == 0 {
                panic!("a bug in a job");
            }
            Ok(())
        };
        let ran =
            std::panic::catch_unwind(|| run(2, &[vec![], vec![0]], &job, &|i| format!("s{i}")));
        assert!(ran.is_err(), "the panic surfaces");
    }
}
