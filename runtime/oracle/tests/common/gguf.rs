//! Just enough GGUF (v2/v3) to find tensors in the model files and read some of their rows:
//! skips metadata, reads the tensor table, and reads byte ranges with bounds checks. Test-only
//! (the runtime has its own reader; the oracle does not depend on it so the two stay independent).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// One tensor of the table: name, ggml type number, dims (ne0 first), absolute data offset.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    pub ty: u32,
    pub dims: Vec<u64>,
    pub offset: u64,
}

pub struct Gguf {
    file: File,
    len: u64,
    pub tensors: Vec<TensorInfo>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

struct R<'a> {
    f: &'a mut io::BufReader<File>,
    pos: u64,
}

impl R<'_> {
    fn bytes(&mut self, n: u64) -> io::Result<Vec<u8>> {
        if n > 1 << 24 {
            return Err(bad("string too long"));
        }
        let mut v = vec![0u8; n as usize];
        self.f.read_exact(&mut v)?;
        self.pos += n;
        Ok(v)
    }
    fn skip(&mut self, n: u64) -> io::Result<()> {
        self.f.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().unwrap()))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = self.u64()?;
        Ok(String::from_utf8_lossy(&self.bytes(n)?).into_owned())
    }
    /// Skip one value of GGUF value type `t`; returns it as u64 when it is an integer scalar.
    fn value(&mut self, t: u32, depth: u32) -> io::Result<Option<u64>> {
        let fixed = |t: u32| match t {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        };
        match t {
            8 => {
                let n = self.u64()?;
                self.skip(n)?;
                Ok(None)
            }
            9 => {
                if depth > 2 {
                    return Err(bad("nested arrays"));
                }
                let et = self.u32()?;
                let n = self.u64()?;
                if let Some(sz) = fixed(et) {
                    self.skip(n.checked_mul(sz).ok_or_else(|| bad("array size"))?)?;
                } else {
                    for _ in 0..n {
                        self.value(et, depth + 1)?;
                    }
                }
                Ok(None)
            }
            _ => {
                let sz = fixed(t).ok_or_else(|| bad("value type"))?;
                let b = self.bytes(sz)?;
                let mut a = [0u8; 8];
                a[..b.len()].copy_from_slice(&b);
                Ok(Some(u64::from_le_bytes(a)))
            }
        }
    }
}

impl Gguf {
    pub fn open(path: &Path) -> io::Result<Gguf> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut br = io::BufReader::new(file.try_clone()?);
        let mut r = R { f: &mut br, pos: 0 };
        if r.bytes(4)? != b"GGUF" {
            return Err(bad("not GGUF"));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(bad("GGUF version"));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        if n_tensors > 1 << 20 || n_kv > 1 << 20 {
            return Err(bad("counts"));
        }
        let mut alignment = 32u64;
        for _ in 0..n_kv {
            let key = r.string()?;
            let t = r.u32()?;
            let v = r.value(t, 0)?;
            if key == "general.alignment" {
                alignment = v.filter(|&a| a > 0).ok_or_else(|| bad("alignment"))?;
            }
        }
        let mut tensors = Vec::new();
        for _ in 0..n_tensors {
            let name = r.string()?;
            let nd = r.u32()?;
            if nd > 4 {
                return Err(bad("dims"));
            }
            let dims = (0..nd).map(|_| r.u64()).collect::<io::Result<Vec<_>>>()?;
            let ty = r.u32()?;
            let offset = r.u64()?;
            tensors.push(TensorInfo {
                name,
                ty,
                dims,
                offset,
            });
        }
        let data = r.pos.div_ceil(alignment) * alignment;
        for t in &mut tensors {
            t.offset = t.offset.checked_add(data).ok_or_else(|| bad("offset"))?;
        }
        Ok(Gguf { file, len, tensors })
    }

    /// Bytes `[offset, offset + n)` of the file. Errors when past the end.
    pub fn read(&mut self, offset: u64, n: usize) -> io::Result<Vec<u8>> {
        if offset.checked_add(n as u64).is_none_or(|e| e > self.len) {
            return Err(bad("range past end of file"));
        }
        let mut v = vec![0u8; n];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut v)?;
        Ok(v)
    }
}
