//! Splitting an NDJSON body into lines as it arrives, holding at most one line's worth of
//! bytes beyond the complete lines: a line longer than the per-record limit is skipped as it
//! streams (reported, never buffered).

/// A piece of an NDJSON body.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// A non-blank line (1-based number, bytes without the line end).
    Line(usize, Vec<u8>),
    /// A line longer than the limit (1-based number); its bytes were dropped.
    TooLong(usize),
}

/// Splits a stream of byte chunks into [`Piece`]s.
#[derive(Debug)]
pub struct Splitter {
    partial: Vec<u8>,
    /// Number of the line being read (1-based).
    line: usize,
    max: usize,
    /// The current line is over the limit: drop its bytes until its end.
    over: bool,
}

impl Splitter {
    /// A splitter for lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            line: 1,
            max,
            over: false,
        }
    }

    /// Bytes held of the line being read.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Number of the line being read (1-based): the first line no piece was given for yet.
    pub fn next_line(&self) -> usize {
        self.line
    }

    /// Splits `data`, appending the pieces it completes to `out`; returns the bytes of the
    /// lines appended.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Piece>) -> usize {
        let mut bytes = 0;
        while !data.is_empty() {
            let end = data.iter().position(|&b| b == b'\n');
            let (head, rest) = match end {
                Some(i) => (&data[..i], Some(&data[i + 1..])),
                None => (data, None),
            };
            if !self.over {
                if self.partial.len() + head.len() > self.max + 1 {
                    // (+1: a `\r` before the `\n` does not count against the limit.)
                    self.over = true;
                    self.partial = Vec::new();
                } else {
                    self.partial.extend_from_slice(head);
                }
            }
            match rest {
                Some(rest) => {
                    bytes += self.end_line(out);
                    data = rest;
                }
                None => break,
            }
        }
        bytes
    }

    /// Ends the body: the last line, if it has no line end. Returns its bytes.
    pub fn finish(&mut self, out: &mut Vec<Piece>) -> usize {
        if self.over || !self.partial.is_empty() {
            self.end_line(out)
        } else {
            0
        }
    }

    fn end_line(&mut self, out: &mut Vec<Piece>) -> usize {
        let line = self.line;
        self.line += 1;
        if std::mem::take(&mut self.over) {
            out.push(Piece::TooLong(line));
            return 0;
        }
        let mut bytes = std::mem::take(&mut self.partial);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.len() > self.max {
            out.push(Piece::TooLong(line));
            return 0;
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return 0;
        }
        let n = bytes.len();
        out.push(Piece::Line(line, bytes));
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Vec<Piece> {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
            assert!(s.buffered() <= max + 1);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn lines_across_chunks_with_blank_lines_and_crlf() {
        let out = split(&[b"{\"a\":1}\n\n  \r\n{\"b\"", b":2}\r\n{\"c\":3}"], 100);
        assert_eq!(
            out,
            vec![
                Piece::Line(1, b"{\"a\":1}".to_vec()),
                Piece::Line(4, b"{\"b\":2}".to_vec()),
                Piece::Line(5, b"{\"c\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_dropped_as_it_streams() {
        let long = vec![b'x'; 50];
        let out = split(&[b"{}\n", &long, &long, b"\n{}\n", &long], 60);
        assert_eq!(
            out,
            vec![
                Piece::Line(1, b"{}".to_vec()),
                Piece::TooLong(2),
                Piece::Line(3, b"{}".to_vec()),
                Piece::Line(4, long.clone()),
            ]
        );
        let exact = vec![b'y'; 60];
        assert_eq!(
            split(&[&exact, b"\n"], 60),
            vec![Piece::Line(1, exact.clone())]
        );
        assert_eq!(split(&[&exact, b"z\n"], 60), vec![Piece::TooLong(1)]);
    }
}
