//! A blob copied from one registry to another without holding it whole: the source's body is
//! read once, in order, hashed as it passes, and only the bytes the upload may still ask for
//! are kept (at most one chunk, [`crate::transfer::upload::CHUNK`], plus one read).
//!
//! The upload asks for bytes `first..=last` ([`CopyWindow::poll_need`]); the window says
//! whether they are ready, need more reading, or need the source opened (again, with `Range`
//! when it broke, from the start when the upload went back to bytes already let go of). The
//! blob's last byte is handed over only after the whole blob matched its digest and size, so
//! the upload's commit (`PUT ?digest=`) never carries unverified bytes. A blob that does not
//! match is read once more from the start and the upload starts over with it
//! ([`Progress::StartOver`]); a second mismatch is final.

use crate::protocol::resume::ResumeError;
use crate::protocol::retry::RetryPolicy;
use crate::transfer::blob_fetch::{Answer, BlobFetch, FetchFailure, FetchStep};
use crate::{BlobVerifier, Digest};

/// What it takes to hand over the bytes the upload asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// They are here: [`CopyWindow::take`].
    Ready,
    /// Read the next chunk of the open source body.
    Read,
    /// Open the source body: a `GET` (with `Range: range` if given, and the current
    /// credential), then [`CopyWindow::handle_answer`] or [`CopyWindow::handle_no_answer`].
    Send { range: Option<String> },
}

/// What follows the source's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The body is open: read it.
    Reading,
    /// Wait this long, then ask [`CopyWindow::poll_need`] again.
    Wait { ms: u64 },
    /// Get a fresh credential (the answer's challenge says how), then ask again.
    Reauthorize,
    /// The answer stands: report it with what it said.
    Refused { status: u16 },
    /// No answer on every attempt: report the last failure.
    GiveUp,
}

/// How a chunk of the source changed things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    More,
    /// The whole blob arrived and matches its digest and size.
    Verified,
    /// The whole blob arrived and does not match: it is read again from the start, and the
    /// upload must start over (earlier chunks may have carried the bad bytes).
    StartOver,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    #[error("reading blob {digest} from the source: {source}")]
    Source {
        digest: Digest,
        #[source]
        source: ResumeError,
    },
    #[error("reading blob {digest} from the source: {failure}")]
    Fetch {
        digest: Digest,
        failure: FetchFailure,
    },
    #[error("blob {digest} from the source did not match its digest twice in a row; the source registry serves corrupt data for it, so nothing of it was committed to the target")]
    CorruptTwice { digest: Digest },
    #[error("blob {digest}: the source sent more than its {size} bytes; nothing of it was committed to the target")]
    TooLong { digest: Digest, size: u64 },
}

#[derive(Clone)]
pub struct CopyWindow {
    digest: Digest,
    size: u64,
    verifier: BlobVerifier,
    /// The source's download: attempts, credential renewals, resume, start-overs.
    source: BlobFetch,
    /// A source body is open and its next byte is `source.written()`.
    open: bool,
    /// The offset of `kept[0]`; bytes before it were handed over and are not needed again.
    kept_from: u64,
    kept: Vec<u8>,
    verified: bool,
}

impl CopyWindow {
    pub fn new(digest: Digest, size: u64) -> Self {
        let mut source = BlobFetch::new(size, RetryPolicy::default());
        source.begin_source(true);
        Self {
            verifier: BlobVerifier::new(digest.clone(), size),
            digest,
            size,
            source,
            open: false,
            kept_from: 0,
            kept: Vec::new(),
            verified: false,
        }
    }

    /// Bytes read from the source so far (in this pass).
    pub fn read(&self) -> u64 {
        self.source.written()
    }

    /// Bytes held for the upload right now.
    pub fn held(&self) -> usize {
        self.kept.len()
    }

    /// What it takes to hand over bytes `first..=last` of the blob.
    pub fn poll_need(&mut self, first: u64, last: u64) -> Need {
        if first < self.kept_from {
            // The upload went back (the registry forgot the session): read it all again.
            self.source.rewind();
            self.restart(first);
        }
        let last_byte = last + 1 >= self.size;
        if last < self.read() && (!last_byte || self.verified) {
            return Need::Ready;
        }
        if self.open {
            return Need::Read;
        }
        match self.source.poll() {
            FetchStep::Send { range } => Need::Send { range },
            // Every byte was read, yet not handed over verified: read it again.
            _ => {
                self.source.rewind();
                self.restart(self.kept_from);
                self.poll_need(first, last)
            }
        }
    }

    /// Bytes `first..=last`, once [`CopyWindow::poll_need`] said they are ready; everything
    /// before `first` is let go.
    pub fn take(&mut self, first: u64, last: u64) -> &[u8] {
        let drop = first
            .saturating_sub(self.kept_from)
            .min(self.kept.len() as u64) as usize;
        self.kept.drain(..drop);
        self.kept_from = first;
        let length = (last + 1 - first).min(self.kept.len() as u64) as usize;
        &self.kept[..length]
    }

    /// The source answered the `GET`: a `206` resumes where it broke, a `200` starts over, a
    /// `416` to a `Range` starts the blob over once; other answers as the retry policy says.
    pub fn handle_answer(&mut self, answer: Answer<'_>, now_ms: u64) -> Result<Opened, CopyError> {
        match self.source.handle_answer(answer, now_ms) {
            FetchStep::ReadBody { discard } => {
                if discard {
                    self.restart(self.kept_from);
                }
                self.open = true;
                Ok(Opened::Reading)
            }
            FetchStep::Wait { ms } => Ok(Opened::Wait { ms }),
            FetchStep::Reauthorize => Ok(Opened::Reauthorize),
            FetchStep::StartOver => {
                self.restart(self.kept_from);
                Ok(Opened::Wait { ms: 0 })
            }
            FetchStep::Fail(FetchFailure::Status { status }) => Ok(Opened::Refused { status }),
            FetchStep::Fail(failure) => Err(self.failed(failure)),
            FetchStep::Send { .. } | FetchStep::Finish => Ok(Opened::Wait { ms: 0 }),
        }
    }

    /// The `GET` got no answer (the connection failed).
    pub fn handle_no_answer(&mut self, now_ms: u64) -> Opened {
        match self.source.handle_no_answer(now_ms) {
            FetchStep::Wait { ms } => Opened::Wait { ms },
            _ => Opened::GiveUp,
        }
    }

    /// The next chunk of the source body.
    pub fn handle_bytes(&mut self, chunk: &[u8]) -> Result<Progress, CopyError> {
        let at = self.read();
        let end = at + chunk.len() as u64;
        if end > self.size {
            return Err(CopyError::TooLong {
                digest: self.digest.clone(),
                size: self.size,
            });
        }
        self.verifier
            .update(chunk)
            .expect("the length was checked above");
        self.source
            .handle_progress(end)
            .map_err(|source| self.failed(FetchFailure::Resume(source)))?;
        if end > self.kept_from {
            let skip = self.kept_from.saturating_sub(at) as usize;
            self.kept.extend_from_slice(&chunk[skip..]);
        }
        if end < self.size {
            return Ok(Progress::More);
        }
        self.open = false;
        let verifier = std::mem::replace(
            &mut self.verifier,
            BlobVerifier::new(self.digest.clone(), self.size),
        );
        if verifier.finish().is_ok() {
            self.verified = true;
            return Ok(Progress::Verified);
        }
        match self.source.handle_corrupt() {
            FetchStep::StartOver => {
                self.restart(0);
                Ok(Progress::StartOver)
            }
            _ => Err(CopyError::CorruptTwice {
                digest: self.digest.clone(),
            }),
        }
    }

    /// The source body ended or broke before the blob's end: it is opened again with `Range`
    /// from where it stopped, after the pause returned, unless it keeps breaking without
    /// progress.
    pub fn handle_break(&mut self) -> Result<u64, CopyError> {
        self.open = false;
        match self.source.handle_body_end() {
            FetchStep::Wait { ms } => Ok(ms),
            FetchStep::Fail(failure) => Err(self.failed(failure)),
            _ => Ok(0),
        }
    }

    /// Reads the source again from its first byte, keeping what is at or after `keep_from`.
    fn restart(&mut self, keep_from: u64) {
        self.verifier = BlobVerifier::new(self.digest.clone(), self.size);
        self.open = false;
        self.verified = false;
        self.kept.clear();
        self.kept_from = keep_from;
    }

    fn failed(&self, failure: FetchFailure) -> CopyError {
        let digest = self.digest.clone();
        match failure {
            FetchFailure::Resume(source) => CopyError::Source { digest, source },
            FetchFailure::CorruptTwice => CopyError::CorruptTwice { digest },
            failure => CopyError::Fetch { digest, failure },
        }
    }
}

/// How old a staged chunk file must be to count as left behind by a tab that closed mid-copy
/// (a file lives as long as one blob's copy).
pub const STALE_CHUNK_FILE_MS: u64 = 6 * 60 * 60 * 1000;

/// Whether a staged chunk file, named `<created ms>-<random>`, was left behind: older than
/// [`STALE_CHUNK_FILE_MS`]. Names in another shape are not Skiff's and are left alone.
pub fn stale_chunk_file(name: &str, now_ms: u64) -> bool {
    name.split_once('-')
        .and_then(|(created, _)| created.parse::<u64>().ok())
        .is_some_and(|created| now_ms.saturating_sub(created) > STALE_CHUNK_FILE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::blob_fetch::BREAK_PAUSE_MS;

    fn blob(size: usize) -> (Vec<u8>, Digest) {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let digest = Digest::of(&bytes);
        (bytes, digest)
    }

    fn answer(status: u16, content_range: Option<&str>, content_length: Option<u64>) -> Answer<'_> {
        Answer {
            status,
            content_range,
            content_length,
            ..Answer::default()
        }
    }

    /// The way the app opens the source: `status`, `content_range`, `content_length`.
    fn opened(
        window: &mut CopyWindow,
        status: u16,
        content_range: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<Opened, CopyError> {
        window.handle_answer(answer(status, content_range, content_length), 0)
    }

    /// Drives the window the way the app does, answering a send with the bytes asked for,
    /// reading `step` bytes at a time; returns the bytes handed over for `first..=last`.
    fn serve(
        window: &mut CopyWindow,
        bytes: &[u8],
        (first, last): (u64, u64),
        step: usize,
    ) -> Result<Vec<u8>, CopyError> {
        loop {
            match window.poll_need(first, last) {
                Need::Ready => return Ok(window.take(first, last).to_vec()),
                Need::Send { range: Some(range) } => {
                    let offset: usize = range["bytes=".len()..range.len() - 1].parse().unwrap();
                    let range = format!("bytes {offset}-{}/{}", bytes.len() - 1, bytes.len());
                    opened(window, 206, Some(&range), None)?;
                }
                Need::Send { range: None } => {
                    opened(window, 200, None, Some(bytes.len() as u64))?;
                }
                Need::Read => {
                    let at = window.read() as usize;
                    let end = (at + step).min(bytes.len());
                    if window.handle_bytes(&bytes[at..end])? == Progress::StartOver {
                        panic!("unexpected start over");
                    }
                }
            }
        }
    }

    #[test]
    fn chunk_files_left_behind_are_told_apart() {
        let now = 100 * STALE_CHUNK_FILE_MS;
        let old = now - STALE_CHUNK_FILE_MS - 1;
        let table = [
            (format!("{old}-123"), true),
            (format!("{}-123", now - 1000), false),
            (format!("{}-9", now + 5), false),
            ("notes.txt".to_owned(), false),
            ("abc-1".to_owned(), false),
        ];
        for (name, stale) in table {
            assert_eq!(stale_chunk_file(&name, now), stale, "{name}");
        }
    }

    #[test]
    fn chunks_come_in_order_and_only_one_is_held() {
        let (bytes, digest) = blob(1000);
        let mut window = CopyWindow::new(digest, 1000);
        for (first, last) in [(0, 399), (400, 799), (800, 999)] {
            let part = serve(&mut window, &bytes, (first, last), 64).unwrap();
            assert_eq!(part, &bytes[first as usize..=last as usize]);
            assert!(window.held() <= 400 + 64, "held {}", window.held());
        }
    }

    #[test]
    fn the_last_byte_waits_for_the_digest() {
        let (bytes, digest) = blob(100);
        let mut window = CopyWindow::new(digest, 100);
        assert_eq!(window.poll_need(0, 99), Need::Send { range: None });
        opened(&mut window, 200, None, Some(100)).unwrap();
        assert_eq!(window.handle_bytes(&bytes[..60]).unwrap(), Progress::More);
        // The first 60 bytes may go; the whole blob may not.
        assert_eq!(window.poll_need(0, 49), Need::Ready);
        assert_eq!(window.poll_need(0, 99), Need::Read);
        assert_eq!(
            window.handle_bytes(&bytes[60..]).unwrap(),
            Progress::Verified
        );
        assert_eq!(window.poll_need(0, 99), Need::Ready);
        assert_eq!(window.take(0, 99), &bytes[..]);
    }

    #[test]
    fn a_broken_source_resumes_with_range() {
        let (bytes, digest) = blob(300);
        let mut window = CopyWindow::new(digest, 300);
        window.poll_need(0, 299);
        opened(&mut window, 200, None, Some(300)).unwrap();
        window.handle_bytes(&bytes[..120]).unwrap();
        assert_eq!(window.handle_break(), Ok(BREAK_PAUSE_MS));
        assert_eq!(
            window.poll_need(0, 299),
            Need::Send {
                range: Some("bytes=120-".into())
            }
        );
        opened(&mut window, 206, Some("bytes 120-299/300"), Some(180)).unwrap();
        assert_eq!(
            window.handle_bytes(&bytes[120..]).unwrap(),
            Progress::Verified
        );
        assert_eq!(window.take(0, 299), &bytes[..]);
    }

    #[test]
    fn a_source_that_ignores_range_is_read_again_from_the_start() {
        let (bytes, digest) = blob(300);
        let mut window = CopyWindow::new(digest, 300);
        let first = serve(&mut window, &bytes, (0, 99), 50).unwrap();
        assert_eq!(first, &bytes[..100]);
        window.handle_break().unwrap();
        // A 200 to the ranged GET: the bytes before the window are hashed again, not kept.
        assert!(matches!(
            window.poll_need(100, 299),
            Need::Send { range: Some(_) }
        ));
        opened(&mut window, 200, None, Some(300)).unwrap();
        assert_eq!(window.read(), 0);
        assert_eq!(window.handle_bytes(&bytes[..]).unwrap(), Progress::Verified);
        assert_eq!(window.take(100, 299), &bytes[100..]);
    }

    #[test]
    fn an_upload_that_went_back_reads_the_source_again() {
        let (bytes, digest) = blob(500);
        let mut window = CopyWindow::new(digest, 500);
        serve(&mut window, &bytes, (0, 199), 100).unwrap();
        serve(&mut window, &bytes, (200, 399), 100).unwrap();
        // The registry forgot the session: the upload starts again at 0.
        let again = serve(&mut window, &bytes, (0, 199), 100).unwrap();
        assert_eq!(again, &bytes[..200]);
        assert_eq!(
            serve(&mut window, &bytes, (200, 499), 100).unwrap(),
            &bytes[200..]
        );
    }

    #[test]
    fn a_corrupt_blob_starts_over_once_then_fails() {
        let (bytes, digest) = blob(200);
        let mut bad = bytes.clone();
        bad[150] ^= 1;
        let mut window = CopyWindow::new(digest.clone(), 200);
        window.poll_need(0, 199);
        opened(&mut window, 200, None, Some(200)).unwrap();
        assert_eq!(window.handle_bytes(&bad).unwrap(), Progress::StartOver);
        assert_eq!(window.poll_need(0, 199), Need::Send { range: None });
        opened(&mut window, 200, None, Some(200)).unwrap();
        assert_eq!(
            window.handle_bytes(&bad),
            Err(CopyError::CorruptTwice { digest })
        );
    }

    #[test]
    fn a_corrupt_blob_read_right_the_second_time_is_handed_over() {
        let (bytes, digest) = blob(200);
        let mut bad = bytes.clone();
        bad[3] ^= 1;
        let mut window = CopyWindow::new(digest, 200);
        window.poll_need(0, 199);
        opened(&mut window, 200, None, Some(200)).unwrap();
        assert_eq!(window.handle_bytes(&bad).unwrap(), Progress::StartOver);
        assert_eq!(serve(&mut window, &bytes, (0, 199), 64).unwrap(), bytes);
    }

    #[test]
    fn too_many_bytes_are_refused_as_they_come() {
        let (bytes, digest) = blob(100);
        let mut window = CopyWindow::new(digest.clone(), 100);
        window.poll_need(0, 99);
        opened(&mut window, 200, None, None).unwrap();
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            window.handle_bytes(&longer),
            Err(CopyError::TooLong { digest, size: 100 })
        );
    }

    #[test]
    fn a_wrong_range_from_the_source_is_refused() {
        let (bytes, digest) = blob(100);
        let mut window = CopyWindow::new(digest, 100);
        window.poll_need(0, 99);
        opened(&mut window, 200, None, Some(100)).unwrap();
        window.handle_bytes(&bytes[..40]).unwrap();
        window.handle_break().unwrap();
        window.poll_need(0, 99);
        let wrong = opened(&mut window, 206, Some("bytes 10-99/100"), None);
        assert!(matches!(
            wrong,
            Err(CopyError::Source {
                source: ResumeError::WrongRange { .. },
                ..
            })
        ));
    }

    #[test]
    fn a_source_that_keeps_breaking_without_progress_gives_up() {
        let (bytes, digest) = blob(100);
        let mut window = CopyWindow::new(digest, 100);
        window.poll_need(0, 99);
        opened(&mut window, 200, None, Some(100)).unwrap();
        window.handle_bytes(&bytes[..10]).unwrap();
        let mut outcome = Ok(0);
        for _ in 0..5 {
            outcome = window.handle_break();
            if outcome.is_err() {
                break;
            }
        }
        assert!(matches!(
            outcome,
            Err(CopyError::Fetch {
                failure: FetchFailure::Broken,
                ..
            })
        ));
    }

    #[test]
    fn the_source_answers_as_the_retry_policy_and_the_credential_say() {
        let (bytes, digest) = blob(100);
        let table: [(&str, Vec<Answer<'static>>, Opened); 4] = [
            (
                "a 503 is waited out",
                vec![answer(503, None, None)],
                Opened::Wait { ms: 500 },
            ),
            (
                "a 401 renews the credential",
                vec![answer(401, None, None)],
                Opened::Reauthorize,
            ),
            (
                "a 404 stands",
                vec![answer(404, None, None)],
                Opened::Refused { status: 404 },
            ),
            (
                "a 401 after two renewals stands",
                vec![answer(401, None, None); 3],
                Opened::Refused { status: 401 },
            ),
        ];
        for (what, answers, expected) in table {
            let mut window = CopyWindow::new(digest.clone(), 100);
            let mut last = Opened::GiveUp;
            for a in answers {
                assert!(
                    matches!(window.poll_need(0, 99), Need::Send { .. }),
                    "{what}"
                );
                last = window.handle_answer(a, 0).unwrap();
            }
            assert_eq!(last, expected, "{what}");
        }
        // A 416 to a Range starts the blob over from its first byte, once.
        let mut window = CopyWindow::new(digest, 100);
        window.poll_need(0, 99);
        opened(&mut window, 200, None, Some(100)).unwrap();
        window.handle_bytes(&bytes[..40]).unwrap();
        window.handle_break().unwrap();
        assert!(matches!(
            window.poll_need(0, 99),
            Need::Send { range: Some(_) }
        ));
        assert_eq!(
            opened(&mut window, 416, Some("bytes */100"), None),
            Ok(Opened::Wait { ms: 0 })
        );
        assert_eq!(window.poll_need(0, 99), Need::Send { range: None });
        assert_eq!(window.read(), 0);
    }
}
