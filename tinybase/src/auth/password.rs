//! Password hashing with Argon2id.
//!
//! `Argon2::default()` is Argon2id with m = 19 MiB, t = 2, p = 1 — the OWASP recommendation.
//! Hashing is deliberately slow (tens of milliseconds), so callers run it on a blocking thread.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::try_generate_salt;
use argon2::{Algorithm, Argon2, Block, Params, Version};

use std::cell::RefCell;
use std::sync::{Arc, LazyLock, Mutex, TryLockError, mpsc};

use crate::{Error, Result};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have; bounds the hashing work one request can ask
/// for (at most 1 KiB of UTF-8). Counted in characters, like the minimum, so the API
/// schema's `maxLength` states the rule exactly.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Password hashing runs on its own threads, one per CPU. Each Argon2id hash takes
/// 19 MiB; the allocator keeps freed blocks per thread, so hashing on the shared blocking
/// pool (hundreds of threads under load) grew the process to gigabytes. A fixed set of
/// threads bounds that memory and the CPU given to hashing, and queues the rest.
static HASHERS: LazyLock<Option<mpsc::Sender<Job>>> = LazyLock::new(start_hashers);

fn start_hashers() -> Option<mpsc::Sender<Job>> {
    let threads = crate::constants::cpus();
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let mut started = 0;
    for n in 0..threads {
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new()
            .name(format!("tinybase-hash-{n}"))
            .spawn(move || {
                while let Some(job) = next_job(&receiver) {
                    // A panicking job drops its answer channel (reported to the caller);
                    // the thread carries on.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        match spawned {
            Ok(_) => started += 1,
            Err(err) => tracing::warn!(%err, "could not start a password hashing thread"),
        }
    }
    (started > 0).then_some(sender)
}

/// The next job for a hashing thread, `None` once the server stops. A thread with
/// nothing queued gives its working memory back before it waits.
fn next_job(receiver: &Mutex<mpsc::Receiver<Job>>) -> Option<Job> {
    // The lock only guards taking the next job; a poisoned one still works. When another
    // thread holds it, that thread is waiting for work, so the queue is empty.
    let queue = match receiver.try_lock() {
        Ok(queue) => queue,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => {
            release_memory();
            return receiver
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .recv()
                .ok();
        }
    };
    match queue.try_recv() {
        Ok(job) => Some(job),
        Err(mpsc::TryRecvError::Disconnected) => None,
        Err(mpsc::TryRecvError::Empty) => {
            release_memory();
            queue.recv().ok()
        }
    }
}

/// Runs password hashing work on the hashing threads and waits for it.
///
/// # Errors
/// Internal error when no hashing thread could be started or the work panicked.
pub(crate) async fn run_limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let Some(hashers) = HASHERS.as_ref() else {
        return Err(Error::internal("no password hashing thread is running"));
    };
    let (answer, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(work());
    });
    hashers
        .send(job)
        .map_err(|_| Error::internal("the password hashing threads stopped"))?;
    result
        .await
        .map_err(|_| Error::internal("password hashing failed"))
}

/// Checks a new password's length; returns the message to show when it is not acceptable.
pub fn check_new_password(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some(format!("must be at least {MIN_PASSWORD_CHARS} characters"))
    } else if chars > MAX_PASSWORD_CHARS {
        Some(format!("must be at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        None
    }
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$...`) with a random salt.
///
/// # Errors
/// An internal error if the system random source fails.
pub fn hash_password(password: &str) -> Result<String> {
    let failed =
        |err: &dyn std::fmt::Display| Error::internal(format!("password hashing failed: {err}"));
    let salt = try_generate_salt().map_err(|err| failed(&err))?;
    let params = Params::default();
    let mut output = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, memory)
    })
    .map_err(|err| failed(&err))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|err| failed(&err))?,
        salt: Some(Salt::new(&salt).map_err(|err| failed(&err))?),
        hash: Some(Output::new(&output).map_err(|err| failed(&err))?),
    };
    Ok(hash.to_string())
}

/// True when `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::new(parsed.algorithm.as_str()),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = [0_u8; Output::MAX_LENGTH];
    let Some(computed) = computed.get_mut(..expected.len()) else {
        return false;
    };
    let hashed = with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, computed, memory)
    });
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(computed).is_ok_and(|computed| computed == *expected)
}

/// Blocks to reserve so the working memory is a memory map of its own: the C allocator
/// (glibc) maps requests above its threshold and unmaps them when freed, but after such a
/// free it raises the threshold, up to 32 MiB. Argon2's 19 MiB then came from per-thread
/// heaps that keep freed memory, so every thread that had hashed held on to it (hundreds
/// of MiB under concurrent logins). Reserving just over 32 MiB keeps it a map that goes
/// back to the system when released; the reserved but untouched part costs no memory.
const MAPPED_BLOCKS: usize = 32 * 1024 + 1;

thread_local! {
    /// Argon2 working memory, reused while a thread has passwords to check (allocating
    /// and faulting in 19 MiB per check costs a third of the hashing rate) and released
    /// when its hashing thread goes idle.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `blocks` blocks of this thread's Argon2 working memory.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|memory| {
        if memory.capacity() < blocks.max(MAPPED_BLOCKS) {
            *memory = Vec::with_capacity(blocks.max(MAPPED_BLOCKS));
        }
        memory.resize(blocks, Block::default());
        f(&mut memory[..blocks])
    })
}

/// Gives this thread's Argon2 working memory back to the system.
fn release_memory() {
    MEMORY.with_borrow_mut(|memory| *memory = Vec::new());
}

/// A valid hash of a password nobody knows. Verifying against it when an email is unknown
/// makes a failed login take as long as a wrong password does, so timing does not reveal
/// which emails have accounts.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0BtnwGk4L9UmE/S4AVM6LVnhIVdSsRkb+y3vsZk7Hbs"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        use argon2::password_hash::PasswordVerifier;
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_ne!(
            hash,
            hash_password("correct horse").unwrap(),
            "salts must differ"
        );
        // The library's own verifier agrees with the hashes made here.
        let library = Argon2::default();
        assert!(
            library
                .verify_password(b"correct horse", hash.as_str())
                .is_ok()
        );
        assert!(
            library
                .verify_password(b"wrong horse", hash.as_str())
                .is_err()
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn verifies_hashes_made_with_other_parameters_exactly_as_the_library_does() {
        use argon2::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
        let cases = [
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(8, 1, 1, Some(32)).unwrap(),
            ),
            (
                Algorithm::Argon2i,
                Version::V0x13,
                Params::new(64, 3, 2, Some(16)).unwrap(),
            ),
            (
                Algorithm::Argon2d,
                Version::V0x10,
                Params::new(32, 2, 1, Some(64)).unwrap(),
            ),
            (Algorithm::Argon2id, Version::V0x13, Params::default()),
        ];
        for (algorithm, version, params) in cases {
            let hash = Argon2::default()
                .hash_password_customized(
                    b"correct horse",
                    b"saltsaltsalt",
                    Some(algorithm.as_str()),
                    Some(version.into()),
                    params.clone(),
                )
                .unwrap()
                .to_string();
            for (password, matches) in [("correct horse", true), ("correct horsf", false)] {
                let library = Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok();
                assert_eq!(library, matches, "{hash}");
                assert_eq!(
                    verify_password(password, &hash),
                    matches,
                    "{hash} {password}"
                );
            }
            // The working memory is kept for the next check, as a map of its own.
            MEMORY.with_borrow(|memory| {
                assert_eq!(memory.len(), params.block_count());
                assert!(memory.capacity() >= MAPPED_BLOCKS);
            });
        }
        release_memory();
        assert_eq!(MEMORY.with_borrow(Vec::capacity), 0);
        // A hash cut short or with a bad parameter never matches.
        let hash = hash_password("correct horse").unwrap();
        assert!(!verify_password("correct horse", &hash[..hash.len() - 4]));
        assert!(!verify_password(
            "correct horse",
            &hash.replace("m=19456", "m=1")
        ));
    }

    #[test]
    fn decoy_hash_parses_and_matches_nothing_common() {
        assert!(PasswordHash::new(decoy_hash()).is_ok());
        assert!(!verify_password("password", decoy_hash()));
    }

    #[test]
    fn length_rules_count_characters() {
        assert!(check_new_password("short").is_some());
        assert!(check_new_password("éééééééé").is_none());
        assert!(check_new_password(&"x".repeat(2000)).is_some());
    }
}
