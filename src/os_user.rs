//! Accounts of the machine's user database (`getpwnam_r`, `getpwuid_r`).

use std::ffi::{CStr, CString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

pub fn by_name(name: &str) -> Option<Account> {
    let c = CString::new(name).ok()?;
    // SAFETY: getpwnam_r with buffers we own; the result points into `buf`.
    unsafe { lookup(|pwd, buf, len, out| libc::getpwnam_r(c.as_ptr(), pwd, buf, len, out)) }
}

pub fn by_uid(uid: u32) -> Option<Account> {
    // SAFETY: as above.
    unsafe { lookup(|pwd, buf, len, out| libc::getpwuid_r(uid, pwd, buf, len, out)) }
}

/// The account this process runs as (its effective user).
pub fn current() -> Option<Account> {
    // SAFETY: geteuid cannot fail.
    by_uid(unsafe { libc::geteuid() })
}

unsafe fn lookup(
    call: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<Account> {
    let mut pwd: libc::passwd = std::mem::zeroed();
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    if call(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) != 0 || out.is_null() {
        return None;
    }
    Some(Account {
        name: CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}
