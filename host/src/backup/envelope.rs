//! The backup key ([`BackupKey`]) and the envelope that encrypts a snapshot with it
//! ([`Encryptor`], [`Decryptor`], [`encrypt`], [`decrypt`]; the format is in the module
//! documentation of [`crate::backup`]).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, ensure};
use chacha20poly1305::aead::{AeadInOut as _, KeyInit as _};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------------------
// The key.

/// A backup key: 32 random bytes, kept in a file as 64 hex digits on one line.
pub struct BackupKey([u8; 32]);

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupKey({})", self.id_hex())
    }
}

impl Drop for BackupKey {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl BackupKey {
    /// A new random key.
    pub fn generate() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow!("no randomness for a key: {e}"))?;
        Ok(Self(key))
    }

    /// A key from its text: 64 hex digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        ensure!(
            text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a backup key: a backup key file holds 64 hex digits (32 bytes) on one line, \
             as `sluice backup-key` writes it"
        );
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key)?;
        Ok(Self(key))
    }

    /// Reads the key file `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(4096).read_to_end(&mut bytes))
            .with_context(|| format!("reading backup key {}", path.display()))?;
        let text = String::from_utf8(bytes).unwrap_or_default();
        Self::parse(&text).with_context(|| format!("backup key {}", path.display()))
    }

    /// Writes the key to a new file `path`, readable by its owner only; an existing file is
    /// never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut text = hex::encode(self.0);
        text.push('\n');
        options
            .open(path)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .with_context(|| {
                format!(
                    "writing {} (an existing key is never overwritten)",
                    path.display()
                )
            })
    }

    /// The key id: the first 8 bytes of the key's SHA-256.
    pub fn id(&self) -> [u8; 8] {
        let digest = Sha256::digest(self.0);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        id
    }

    /// The key id in hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }
}

// ---------------------------------------------------------------------------------------
// The envelope.

/// The first bytes of a backup file.
pub const MAGIC: &[u8; 14] = b"SLUICE-BACKUP\0";
/// The envelope version this gateway writes and reads.
pub const VERSION: u8 = 1;
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;
const PREFIX: usize = 19;
pub(crate) const KEY_ID: usize = 8;
const TAG: usize = 16;
pub(crate) const HEADER: usize = MAGIC.len() + 1 + 4 + PREFIX + KEY_ID;
/// Chunk sizes a reader accepts (a writer uses [`CHUNK`]).
const CHUNK_RANGE: std::ops::RangeInclusive<usize> = 16..=(16 << 20);

/// Why a backup file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file does not start with the backup header.
    #[error("not a Sluice backup (it does not start with the SLUICE-BACKUP header)")]
    NotABackup,
    /// An envelope version this gateway does not read.
    #[error("backup format version {0} is not supported (this sluice reads version {VERSION})")]
    Version(u8),
    /// The header's fields are not valid.
    #[error("the backup is corrupted or was tampered with (its header)")]
    Header,
    /// The key file is not the one the backup was made with.
    #[error(
        "this backup was made with a different key (the backup's key id is {backup}, the key \
         file's is {key})"
    )]
    WrongKey {
        /// The key id the backup names.
        backup: String,
        /// The key id of the key given.
        key: String,
    },
    /// A chunk's tag does not verify.
    #[error("the backup is corrupted or was tampered with (chunk {0})")]
    Corrupted(u64),
    /// The file ends before its last chunk.
    #[error(
        "the backup is truncated: it ends after {} and its last chunk is missing",
        match .0 { 0 => "its header".to_string(), n => format!("chunk {n}") }
    )]
    Truncated(u64),
    /// Reading the file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BackupError {
    fn into_io(self) -> io::Error {
        match self {
            Self::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}

fn nonce(prefix: &[u8; PREFIX], index: u32, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&index.to_be_bytes());
    n[23] = u8::from(last);
    XNonce::from(n)
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Encrypts what is written to it into a backup file written to `out`; [`Self::finish`]
/// seals the last chunk (a backup not finished is not readable).
pub struct Encryptor<W: Write> {
    out: W,
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    chunk: usize,
    buf: Vec<u8>,
    index: u32,
}

impl<W: Write> fmt::Debug for Encryptor<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Encryptor<W> {
    /// Writes the header to `out`.
    pub fn new(key: &BackupKey, out: W) -> io::Result<Self> {
        Self::with_chunk_size(key, out, CHUNK)
    }

    pub(crate) fn with_chunk_size(key: &BackupKey, mut out: W, chunk: usize) -> io::Result<Self> {
        let mut prefix = [0u8; PREFIX];
        getrandom::fill(&mut prefix).map_err(|e| io::Error::other(e.to_string()))?;
        let mut header = [0u8; HEADER];
        let mut at = 0;
        for part in [
            &MAGIC[..],
            &[VERSION],
            &u32::try_from(chunk)
                .map_err(|_| io::Error::other("chunk size"))?
                .to_le_bytes(),
            &prefix,
            &key.id(),
        ] {
            header[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out.write_all(&header)?;
        Ok(Self {
            out,
            cipher: key.cipher(),
            header,
            prefix,
            chunk,
            buf: Vec::with_capacity(chunk),
            index: 0,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let nonce = nonce(&self.prefix, self.index, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.header, self.buf.as_mut_slice().into())
            .map_err(|_| io::Error::other("encrypting a chunk of the backup failed"))?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&tag)?;
        self.buf.clear();
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| io::Error::other("the backup is too large (more than 2^32 chunks)"))?;
        Ok(())
    }

    /// Seals the last chunk and flushes; the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            // A full chunk is sealed only once more data shows it is not the last one.
            if self.buf.len() == self.chunk {
                self.seal(false)?;
            }
            let take = rest.len().min(self.chunk - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts a backup file read from `input`, checking every chunk before handing out its
/// bytes; reads end only after the chunk marked last has verified.
pub struct Decryptor<R: Read> {
    input: R,
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    chunk: usize,
    /// Chunks verified so far.
    index: u64,
    buf: Vec<u8>,
    pos: usize,
    peeked: Option<u8>,
    done: bool,
    failed: bool,
}

impl<R: Read> fmt::Debug for Decryptor<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decryptor<R> {
    /// Reads and checks the header: that this is a backup, of a version this sluice reads,
    /// made with `key`.
    pub fn new(key: &BackupKey, mut input: R) -> Result<Self, BackupError> {
        let mut header = [0u8; HEADER];
        let n = read_full(&mut input, &mut header)?;
        let magic = n.min(MAGIC.len());
        if n == 0 || header[..magic] != MAGIC[..magic] {
            return Err(BackupError::NotABackup);
        }
        if n < HEADER {
            return Err(BackupError::Truncated(0));
        }
        let version = header[MAGIC.len()];
        if version != VERSION {
            return Err(BackupError::Version(version));
        }
        let at = MAGIC.len() + 1;
        let chunk = u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
            as usize;
        if !CHUNK_RANGE.contains(&chunk) {
            return Err(BackupError::Header);
        }
        let mut prefix = [0u8; PREFIX];
        prefix.copy_from_slice(&header[at + 4..at + 4 + PREFIX]);
        let id = &header[at + 4 + PREFIX..];
        if id != key.id() {
            return Err(BackupError::WrongKey {
                backup: hex::encode(id),
                key: key.id_hex(),
            });
        }
        Ok(Self {
            input,
            cipher: key.cipher(),
            header,
            prefix,
            chunk,
            index: 0,
            buf: Vec::with_capacity(chunk + TAG),
            pos: 0,
            peeked: None,
            done: false,
            failed: false,
        })
    }

    fn next_chunk(&mut self) -> Result<(), BackupError> {
        self.buf.clear();
        self.pos = 0;
        self.buf.extend(self.peeked.take());
        let want = self.chunk + TAG;
        let missing = (want - self.buf.len()) as u64;
        (&mut self.input).take(missing).read_to_end(&mut self.buf)?;
        let last = self.buf.len() < want || {
            let mut one = [0u8; 1];
            if read_full(&mut self.input, &mut one)? == 1 {
                self.peeked = Some(one[0]);
                false
            } else {
                true
            }
        };
        let number = self.index + 1;
        if self.buf.is_empty() {
            return Err(BackupError::Truncated(self.index));
        }
        if self.buf.len() < TAG {
            return Err(BackupError::Corrupted(number));
        }
        let index = u32::try_from(self.index).map_err(|_| BackupError::Corrupted(number))?;
        let split = self.buf.len() - TAG;
        let (msg, tag) = self.buf.split_at_mut(split);
        let tag = Tag::try_from(&*tag).map_err(|_| BackupError::Corrupted(number))?;
        let opened = self.cipher.decrypt_inout_detached(
            &nonce(&self.prefix, index, last),
            &self.header,
            (&mut *msg).into(),
            &tag,
        );
        if opened.is_err() {
            // A chunk that verifies as a middle chunk, at the end of the file: the file was
            // cut after it. (A failed check leaves the buffer as it was.)
            if last
                && self
                    .cipher
                    .decrypt_inout_detached(
                        &nonce(&self.prefix, index, false),
                        &self.header,
                        msg.into(),
                        &tag,
                    )
                    .is_ok()
            {
                return Err(BackupError::Truncated(number));
            }
            return Err(BackupError::Corrupted(number));
        }
        self.buf.truncate(split);
        self.index = number;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("the backup could not be read"));
        }
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            if let Err(e) = self.next_chunk() {
                self.failed = true;
                self.buf.clear();
                self.pos = 0;
                return Err(e.into_io());
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Encrypts everything read from `input` into a backup file written to `out`; the
/// plaintext bytes.
pub fn encrypt(key: &BackupKey, input: &mut impl Read, out: impl Write) -> Result<u64> {
    let mut enc = Encryptor::new(key, out)?;
    let n = io::copy(input, &mut enc)?;
    enc.finish()?;
    Ok(n)
}

/// Decrypts the backup file read from `input` to `out`; the plaintext bytes. What was
/// written to `out` before an error is not to be trusted.
pub fn decrypt(key: &BackupKey, input: impl Read, out: &mut impl Write) -> Result<u64> {
    let mut dec = Decryptor::new(key, input)?;
    Ok(io::copy(&mut dec, out)?)
}
