package rentree

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"

	sesame "github.com/sesame-ecole/sesame"
)

// guard is the file as the reader sees it: reads are bounded to
// [0, size), and the first error of the underlying ReaderAt other than
// io.EOF is remembered, so that a failing disk is reported as such and
// not as a bad file.
type guard struct {
	r    io.ReaderAt
	size int64
	mu   sync.Mutex
	err  error
}

// errOffset answers a read at a negative offset, which only a forged
// archive asks for (archive/zip takes offsets from the file).
var errOffset = errors.New("rentree: position hors du fichier")

func (g *guard) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errOffset
	}
	if off >= g.size {
		return 0, io.EOF
	}
	short := false
	if rem := g.size - off; int64(len(p)) > rem {
		p, short = p[:rem], true
	}
	n, err := g.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

// failed returns the first error of the underlying ReaderAt, if any.
func (g *guard) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Records of the zip format (APPNOTE.TXT 4.3).
const (
	eocdLen         = 22
	eocd64LocLen    = 20
	eocd64Len       = 56
	dirHeaderLen    = 46
	sigEOCD         = 0x06054b50
	sigEOCD64Loc    = 0x07064b50
	sigEOCD64       = 0x06064b50
	sigDirHeader    = 0x02014b50
	eocdSearchLen   = 65 * 1024 // as archive/zip
	maxDirHeaderLen = dirHeaderLen + 3*0xffff
)

var le = binary.LittleEndian

func truncated(format string, args ...any) *sesame.ImportError {
	return refuse(reasonTruncated, "", 0, "", format, args...)
}

// checkDirectory reads the end of central directory record of the archive
// itself, the way archive/zip will, and refuses more than MaxEntries
// entries before archive/zip parses the directory. It then walks the
// directory's fixed-size headers to make sure it holds exactly the entries
// announced and ends where the record says: archive/zip reads directory
// headers until one fails to parse and compares the count only modulo
// 65536, so without this walk a directory holding 65536 more headers than
// announced would be parsed whole. It returns the number of entries.
func checkDirectory(g *guard, size int64, lim sesame.RentreeLimits) (int, error) {
	if size < eocdLen {
		return 0, truncated("L'archive est tronquée : elle est trop courte pour être une archive zip complète.")
	}
	n := min(size, eocdSearchLen)
	buf := make([]byte, n)
	if _, err := g.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, readFailure(g, err)
	}
	p := findEOCD(buf)
	if p < 0 {
		return 0, truncated("L'archive est tronquée ou corrompue : sa fin (le répertoire central) est introuvable.")
	}
	eocdOff := size - n + int64(p)
	b := buf[p:]
	disk, dirDisk := uint64(le.Uint16(b[4:])), uint64(le.Uint16(b[6:]))
	recThis, rec := uint64(le.Uint16(b[8:])), uint64(le.Uint16(b[10:]))
	dirSize, dirOff := uint64(le.Uint32(b[12:])), uint64(le.Uint32(b[16:]))
	if p+eocdLen+int(le.Uint16(b[20:])) != len(buf) {
		return 0, truncated("L'archive est corrompue : des données suivent sa fin.")
	}
	end := uint64(eocdOff)
	// The same test as archive/zip for a zip64 archive (sic: 0xffff for
	// the directory's size too).
	if rec == 0xffff || dirSize == 0xffff || dirOff == 0xffffffff {
		if eocdOff >= eocd64LocLen {
			loc := make([]byte, eocd64LocLen)
			if _, err := g.ReadAt(loc, eocdOff-eocd64LocLen); err != nil {
				return 0, readFailure(g, err)
			}
			if le.Uint32(loc) == sigEOCD64Loc && le.Uint32(loc[4:]) == 0 && le.Uint32(loc[16:]) == 1 {
				p64 := le.Uint64(loc[8:])
				if p64 > uint64(size) || uint64(size)-p64 < eocd64Len {
					return 0, truncated("L'archive est corrompue : la fin de son répertoire (zip64) est hors du fichier.")
				}
				r := make([]byte, eocd64Len)
				if _, err := g.ReadAt(r, int64(p64)); err != nil {
					return 0, readFailure(g, err)
				}
				if le.Uint32(r) != sigEOCD64 {
					return 0, truncated("L'archive est corrompue : la fin de son répertoire (zip64) est illisible.")
				}
				disk, dirDisk = uint64(le.Uint32(r[16:])), uint64(le.Uint32(r[20:]))
				recThis, rec = le.Uint64(r[24:]), le.Uint64(r[32:])
				dirSize, dirOff = le.Uint64(r[40:]), le.Uint64(r[48:])
				end = p64
			}
		}
	}
	if disk != 0 || dirDisk != 0 {
		return 0, refuse(reasonNotAZip, "", 0, "", "Les archives en plusieurs morceaux ne sont pas acceptées.")
	}
	if m := max(rec, recThis); m > uint64(lim.MaxEntries) {
		return 0, refuse(reasonTooManyEntries, "", 0, "",
			"L'archive annonce %d entrées ; une archive de rentrée en contient %d (au plus %d sont acceptées).", m, len(entryOrder), lim.MaxEntries)
	}
	if rec != recThis {
		return 0, truncated("L'archive est corrompue : son répertoire se contredit sur le nombre d'entrées.")
	}
	if dirOff > end || end-dirOff != dirSize || dirSize > rec*maxDirHeaderLen {
		return 0, truncated("L'archive est corrompue ou précédée d'autres données : son répertoire n'est pas où elle l'annonce.")
	}
	pos := dirOff
	h := make([]byte, dirHeaderLen)
	for range rec {
		if end-pos < dirHeaderLen {
			return 0, truncated("L'archive est corrompue : son répertoire est plus court que ses entrées.")
		}
		if _, err := g.ReadAt(h, int64(pos)); err != nil {
			return 0, readFailure(g, err)
		}
		if le.Uint32(h) != sigDirHeader {
			return 0, truncated("L'archive est corrompue : son répertoire est illisible.")
		}
		pos += dirHeaderLen + uint64(le.Uint16(h[28:])) + uint64(le.Uint16(h[30:])) + uint64(le.Uint16(h[32:]))
		if pos > end {
			return 0, truncated("L'archive est corrompue : son répertoire déborde.")
		}
	}
	if pos != end {
		return 0, truncated("L'archive est corrompue : son répertoire contient plus d'entrées qu'elle n'en annonce.")
	}
	return int(rec), nil
}

// findEOCD finds the end of central directory record in the last bytes of
// the file as archive/zip does: the last signature from the end, unless its
// comment runs past the end.
func findEOCD(b []byte) int {
	for i := len(b) - eocdLen; i >= 0; i-- {
		if b[i] == 'P' && b[i+1] == 'K' && b[i+2] == 0x05 && b[i+3] == 0x06 {
			if n := int(le.Uint16(b[i+eocdLen-2:])); n+eocdLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

// readFailure is the error of a read of the file that failed: the
// underlying error when the ReaderAt failed, a refusal otherwise.
func readFailure(g *guard, err error) error {
	if gerr := g.failed(); gerr != nil {
		return &readError{gerr}
	}
	var ie *sesame.ImportError
	if errors.As(err, &ie) {
		return ie
	}
	return truncated("L'archive est tronquée ou corrompue.")
}

// readError is a failure of the file's ReaderAt (a disk, a network): the
// file itself may be fine.
type readError struct{ err error }

func (e *readError) Error() string {
	return "rentree: lecture du fichier impossible : " + e.err.Error()
}
func (e *readError) Unwrap() error { return e.err }

// checkEntries checks the entries of the archive before anything is
// inflated and returns them by name.
func checkEntries(files []*zip.File, size int64, lim sesame.RentreeLimits) (map[string]*zip.File, *sesame.ImportError) {
	byName := make(map[string]*zip.File, len(entryOrder))
	var total uint64
	for _, f := range files {
		name := printable(f.Name, 100)
		if unsafePath(f.Name) {
			return nil, refuse(reasonUnsafePath, name, 0, "", "Ce chemin sort de l'archive (chemin absolu, « .. », barre oblique inverse ou lecteur) : l'archive est refusée.")
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0, f.ExternalAttrs>>16&0o170000 == 0o120000:
			// The Unix mode S_IFLNK, whatever system the archive says made it.
			return nil, refuse(reasonSymlink, name, 0, "", "Les liens symboliques ne sont pas acceptés dans une archive de rentrée.")
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			return nil, refuse(reasonUnknownEntry, name, 0, "", "Une archive de rentrée ne contient pas de dossier.")
		case mode.Type() != 0:
			return nil, refuse(reasonUnknownEntry, name, 0, "", "Cette entrée n'est pas un fichier ordinaire.")
		}
		known := false
		for _, e := range entryOrder {
			known = known || e == f.Name
		}
		if !known {
			return nil, refuse(reasonUnknownEntry, name, 0, "", "Entrée inconnue : une archive de rentrée ne contient que %s.", strings.Join(entryOrder, ", "))
		}
		if byName[f.Name] != nil {
			return nil, refuse(reasonDuplicateEntry, name, 0, "", "Cette entrée figure deux fois dans l'archive.")
		}
		byName[f.Name] = f
		if f.Flags&0x1 != 0 {
			return nil, refuse(reasonSchema, name, 0, "", "Les entrées chiffrées ne sont pas acceptées.")
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, refuse(reasonSchema, name, 0, "", "Méthode de compression %d non acceptée : seules « stored » et « deflate » le sont.", f.Method)
		}
		u, c := f.UncompressedSize64, f.CompressedSize64
		if c > uint64(size) || (f.Method == zip.Store && c != u) {
			return nil, refuse(reasonTruncated, name, 0, "", "Les tailles déclarées de cette entrée sont incohérentes : l'archive est corrompue.")
		}
		if u > uint64(lim.MaxEntrySize) {
			return nil, refuse(reasonTooLarge, name, 0, "", "Cette entrée déclare %d octets décompressés ; la limite est de %d.", u, lim.MaxEntrySize)
		}
		if total += u; total > uint64(lim.MaxTotalSize) {
			return nil, refuse(reasonTooLarge, name, 0, "", "Les entrées de l'archive déclarent plus de %d octets décompressés au total.", lim.MaxTotalSize)
		}
		if u/max(c, 1) > uint64(lim.MaxRatio) {
			return nil, refuse(reasonRatio, name, 0, "", "Cette entrée se décompresse %d fois plus grande qu'elle n'est (au plus %d) : c'est refusé, par précaution contre les « bombes » de décompression.", u/max(c, 1), lim.MaxRatio)
		}
	}
	for _, e := range entryOrder {
		if byName[e] == nil {
			return nil, refuse(reasonMissingEntry, e, 0, "", "Cette entrée manque à l'archive de rentrée.")
		}
	}
	for i, f := range files {
		if f.Name != entryOrder[i] {
			return nil, refuse(reasonSchema, printable(f.Name, 100), 0, "", "Les entrées doivent venir dans cet ordre : %s.", strings.Join(entryOrder, ", "))
		}
	}
	return byName, nil
}

// unsafePath reports whether an entry's name could point outside a
// folder it were extracted to.
func unsafePath(name string) bool {
	if strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\:\x00") {
		return true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// entryReader bounds the bytes actually inflated from an entry to what it
// declared, whatever its headers say elsewhere.
type entryReader struct {
	rc    io.ReadCloser
	left  int64
	entry string
}

func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.rc.Read(p)
	if e.left -= int64(n); e.left < 0 {
		return 0, refuse(reasonTooLarge, e.entry, 0, "", "Cette entrée contient plus de données que sa taille déclarée : l'archive est refusée.")
	}
	return n, err
}

func (e *entryReader) Close() error { return e.rc.Close() }

// entryError turns an error met while opening (open) or reading an entry
// into a refusal, or a readError when the file's ReaderAt failed.
func entryError(g *guard, entry string, line int, err error, open bool) error {
	if gerr := g.failed(); gerr != nil {
		return &readError{gerr}
	}
	var ie *sesame.ImportError
	if errors.As(err, &ie) {
		if ie.Line == 0 && line > 0 && ie.Reason == reasonTooLarge {
			ie.Line = line
		}
		return ie
	}
	switch {
	case !open && errors.Is(err, zip.ErrFormat):
		// archive/zip reads no more than the declared size.
		return refuse(reasonTooLarge, entry, line, "", "Cette entrée contient plus de données que sa taille déclarée : l'archive est refusée.")
	case errors.Is(err, zip.ErrChecksum):
		return refuse(reasonTruncated, entry, 0, "", "Cette entrée est corrompue (sa somme de contrôle ne correspond pas).")
	case errors.Is(err, zip.ErrAlgorithm):
		return refuse(reasonSchema, entry, 0, "", "Méthode de compression non acceptée : seules « stored » et « deflate » le sont.")
	}
	return refuse(reasonTruncated, entry, 0, "", "Cette entrée est tronquée ou corrompue.")
}
