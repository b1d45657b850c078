/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * livepatch check: which functions of an ELF file, or of every executable
 * module of a running process, a patch can replace; why the others cannot;
 * and which copies the compiler made of a function (constprop, isra, part,
 * cold...), which a patch of the function does not reach.  Nothing is
 * written and nothing is stopped: the process is only read.
 *
 * The pads are judged as lp_apply judges them (lp_decode_pad, and the
 * function listed in __patchable_function_entries where the list exists),
 * so that "patchable" here means an apply will accept the function.  For a
 * process the bytes come from its memory: a function an applied patch
 * replaced holds the patch's jumps, and the journal says whose they are.
 * Covered by tests/integration/check.sh.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NONE ((size_t)-1)
/* bytes read around an entry: the pad, then endbr64 and the entry NOPs */
#define CODE_LEN (LP_PAD_LEN + LP_ENDBR_LEN + LP_ENTRY_LEN)

struct check_func {
	char *name;
	char **aliases;
	size_t naliases;
	char *file;
	uint64_t link;      /* link-time address */
	uint64_t addr, size;
	enum lp_check_status status;
	char *detail;
};

struct check_copy {
	char *name, *base;
	const char *kind;   /* static text */
	uint64_t addr;
	bool entry, same_entry;
	size_t func, base_func;
};

struct check_module {
	char *path;
	char build_id[84];
	uint64_t bias;
	struct check_func *funcs;
	size_t nfuncs;
	struct check_copy *copies;
	size_t ncopies;
	size_t npatchable, npatched;
	bool stripped, pad_list;
};

struct lp_check_report {
	struct check_module *mods;
	size_t nmods;
};

/* What one module is read from. */
struct scan {
	struct lp_ctx *ctx;
	const struct lp_elf *elf;
	uint64_t bias;
	struct lp_proc *proc;               /* NULL: the bytes of the file */
	const struct lp_journal *journal;   /* of the process, NULL if none */
	uint64_t *pads;                     /* the pad list, sorted */
	size_t npads;
	bool has_pads;
	struct lp_eh_frame_hdr eh;
	bool has_eh;
};

/* A symbol with its place in the table, so that sorting keeps the order
 * of the table among equals. */
struct sym_ref {
	const struct lp_func_sym *s;
	size_t idx;
};

static const char *const status_names[] = {
	[LP_CHECK_PATCHABLE] = "patchable",
	[LP_CHECK_PATCHED] = "patched",
	[LP_CHECK_NO_PAD] = "no-pad",
	[LP_CHECK_PAD_NOT_NOPS] = "pad-not-nops",
	[LP_CHECK_ASM] = "asm",
	[LP_CHECK_IFUNC] = "ifunc",
	[LP_CHECK_OTHER_PAD] = "other-pad",
	[LP_CHECK_FOREIGN_PATCH] = "foreign-patch",
	[LP_CHECK_NO_ROOM] = "no-room",
};

const char *lp_check_status_name(enum lp_check_status status)
{
	if ((unsigned int)status < LP_ARRAY_SIZE(status_names) && status_names[status])
		return status_names[status];
	return "unknown";
}

/* ---- names ---------------------------------------------------------------- */

/*
 * The suffixes compilers give the copies they make of a function: gcc's
 * clones (constprop: constant arguments folded in; isra: arguments
 * replaced by the fields used; part: the body after an inlined test),
 * split-off cold code, LTO's renamed statics (lto_priv; llvm for clang's
 * ThinLTO), local aliases, clang's specializations, and the versions of
 * target_clones.  Any other dotted name is not ours to group: Go and
 * others write dots in ordinary names.
 */
static const char *const copy_kinds[] = {
	"constprop", "isra", "part", "cold", "lto_priv", "localalias", "llvm",
	"specialized", "clone", "default", "resolver",
};

/* Is the component [s, s+len) one of copy_kinds?  The static text, or NULL. */
static const char *known_kind(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(copy_kinds); i++)
		if (strlen(copy_kinds[i]) == len && !memcmp(copy_kinds[i], s, len))
			return copy_kinds[i];
	return NULL;
}

/*
 * For a copy's name (BASE.KIND[.N][.KIND2[.N]]...): its kind, and the
 * length of BASE.  A cold part of a copy (foo.isra.0.cold) is a cold part.
 * NULL if @name is no copy's.
 */
static const char *copy_kind(const char *name, size_t *base_len)
{
	const char *dot = strchr(name, '.'), *p, *first;

	if (!dot || dot == name)
		return NULL;
	p = dot + 1;
	first = known_kind(p, strcspn(p, "."));
	if (!first)
		return NULL;
	*base_len = (size_t)(dot - name);
	while (*p) {
		size_t len = strcspn(p, ".");

		if (len == 4 && !memcmp(p, "cold", 4))
			return "cold";
		p += len;
		if (*p)
			p++;
	}
	return first;
}

static bool is_cold_part(const char *name)
{
	size_t len;
	const char *k = copy_kind(name, &len);

	return k && !strcmp(k, "cold");
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* A source file of hand-written assembly, by its name. */
static bool asm_source(const char *file)
{
	static const char *const ext[] = { ".s", ".S", ".sx", ".asm" };
	size_t i;

	for (i = 0; i < LP_ARRAY_SIZE(ext); i++)
		if (ends_with(file, ext[i]))
			return true;
	return false;
}

/* A source file a compiler wrote the file symbol for.  An assembler
 * writes none unless told (.file): the linker then names the object
 * file (x.o), which tells nothing of the source. */
static bool compiled_source(const char *file)
{
	static const char *const ext[] = {
		".c", ".h", ".i", ".cc", ".cp", ".cpp", ".cxx", ".c++", ".C", ".ii",
		".m", ".mm", ".f", ".F", ".f90", ".F90", ".f95", ".d", ".go", ".rs",
	};
	size_t i;

	if (!strcmp(file, "<artificial>")) /* gcc's LTO units */
		return true;
	for (i = 0; i < LP_ARRAY_SIZE(ext); i++)
		if (ends_with(file, ext[i]))
			return true;
	return false;
}

/* ---- unwind information ------------------------------------------------- */

/* A cursor over bytes of the file, for the few DWARF fields read here. */
struct cur {
	const uint8_t *p, *end;
	uint64_t vaddr; /* of *p */
	bool bad;
};

static uint64_t get_le(struct cur *c, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	c->vaddr += n;
	return v;
}

static uint64_t get_uleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		c->vaddr++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

/* A pointer in DW_EH_PE encoding @enc; only the forms .eh_frame uses for
 * an FDE's range (absolute or pc-relative, fixed size). */
static uint64_t get_ptr(struct cur *c, uint8_t enc)
{
	uint64_t at = c->vaddr, v;

	switch (enc & 0x0f) {
	case 0x00: v = get_le(c, 8); break;                          /* absptr */
	case 0x02: v = get_le(c, 2); break;                          /* udata2 */
	case 0x03: v = get_le(c, 4); break;                          /* udata4 */
	case 0x04: case 0x0c: v = get_le(c, 8); break;               /* (s|u)data8 */
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)get_le(c, 2); break; /* sdata2 */
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)get_le(c, 4); break; /* sdata4 */
	default:
		c->bad = true;
		return 0;
	}
	if ((enc & 0x70) == 0x10) /* pcrel */
		v += at;
	else if (enc & 0x70)
		c->bad = true;
	return v;
}

/* Up to @len bytes of the file at @vaddr (fewer near a segment's end). */
static size_t read_some(const struct lp_elf *elf, uint64_t vaddr, uint8_t *buf, size_t len)
{
	for (; len >= 8; len /= 2)
		if (!lp_elf_read(elf, vaddr, buf, len))
			return len;
	return 0;
}

/* The encoding of the FDE pointers of the CIE at @cie: its 'R' entry. */
static int cie_fde_encoding(const struct lp_elf *elf, uint64_t cie, uint8_t *enc)
{
	uint8_t buf[128];
	struct cur c = { buf, buf + read_some(elf, cie, buf, sizeof(buf)), cie, false };
	const char *aug;
	uint8_t version;
	size_t i;

	if (get_le(&c, 4) == 0xffffffffu || get_le(&c, 4) != 0)
		return -EINVAL; /* 64-bit DWARF, or not a CIE */
	version = (uint8_t)get_le(&c, 1);
	aug = (const char *)c.p;
	if (c.bad || !memchr(c.p, 0, (size_t)(c.end - c.p)))
		return -EINVAL;
	c.vaddr += strlen(aug) + 1;
	c.p += strlen(aug) + 1;
	*enc = 0; /* absptr, when no 'R' says otherwise */
	if (aug[0] != 'z')
		return aug[0] ? -EINVAL : 0;
	if (version >= 4)
		get_le(&c, 2); /* address and segment sizes */
	get_uleb(&c); /* code alignment */
	get_uleb(&c); /* data alignment (sleb: its bytes are skipped alike) */
	if (version == 1)
		get_le(&c, 1);
	else
		get_uleb(&c); /* return address register */
	get_uleb(&c); /* augmentation data length */
	for (i = 1; aug[i] && !c.bad; i++) {
		switch (aug[i]) {
		case 'R':
			*enc = (uint8_t)get_le(&c, 1);
			return c.bad ? -EINVAL : 0;
		case 'P':
			get_ptr(&c, (uint8_t)(get_le(&c, 1) & 0x7f)); /* personality */
			break;
		case 'L':
			get_le(&c, 1);
			break;
		case 'S': case 'B': case 'G':
			break;
		default:
			return -EINVAL;
		}
	}
	return c.bad ? -EINVAL : 0;
}

/* Does the FDE at @fde cover @vaddr? */
static bool fde_covers(const struct lp_elf *elf, uint64_t fde, uint64_t vaddr)
{
	uint8_t buf[32];
	struct cur c = { buf, buf + read_some(elf, fde, buf, sizeof(buf)), fde, false };
	uint64_t cie_off, begin, range;
	uint8_t enc;

	if (get_le(&c, 4) == 0xffffffffu)
		return false;
	cie_off = get_le(&c, 4);
	if (c.bad || !cie_off || cie_fde_encoding(elf, fde + 4 - cie_off, &enc))
		return false;
	begin = get_ptr(&c, enc);
	range = get_ptr(&c, enc & 0x0f);
	return !c.bad && vaddr >= begin && vaddr - begin < range;
}

/*
 * Is there unwind information for the code at @vaddr?  A compiler writes
 * an FDE for every function (x86-64 has asynchronous unwind tables by
 * default); hand-written assembly has one only if its author wrote CFI
 * directives.  Looked up in .eh_frame_hdr's sorted table: the last FDE
 * starting at or before @vaddr.
 */
static bool has_fde(const struct scan *s, uint64_t vaddr)
{
	uint64_t lo = 0, hi = s->eh.fde_count, start;
	int32_t ent[2];

	if (!s->eh.fde_count)
		return false;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (lp_elf_read(s->elf, s->eh.table_vaddr + 8 * mid, ent, sizeof(ent)))
			return true; /* unreadable: do not call it assembly */
		if (s->eh.vaddr + (uint64_t)(int64_t)ent[0] <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	if (lp_elf_read(s->elf, s->eh.table_vaddr + 8 * lo, ent, sizeof(ent)))
		return true;
	start = s->eh.vaddr + (uint64_t)(int64_t)ent[0];
	if (start == vaddr)
		return true;
	return start < vaddr &&
	       fde_covers(s->elf, s->eh.vaddr + (uint64_t)(int64_t)ent[1], vaddr);
}

/* ---- one function ---------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first listed pad at or after @vaddr, or UINT64_MAX. */
static uint64_t pad_at_or_after(const struct scan *s, uint64_t vaddr)
{
	size_t lo = 0, hi = s->npads;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->pads[mid] < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->npads ? s->pads[lo] : UINT64_MAX;
}

/* The bytes around the entry at link-time address @vaddr: from the file,
 * or from the process's memory.  Fewer near the end of a segment; the
 * rest is filled with int3, which no NOP matches.  The number read. */
static size_t read_code(const struct scan *s, uint64_t vaddr, uint8_t code[CODE_LEN])
{
	size_t len;

	if (vaddr < LP_PAD_LEN)
		return 0;
	for (len = CODE_LEN; len > LP_PAD_LEN; len--) {
		int err = s->proc ?
			  lp_proc_read(s->proc, vaddr - LP_PAD_LEN + s->bias, code, len) :
			  lp_elf_read(s->elf, vaddr - LP_PAD_LEN, code, len);

		if (!err) {
			memset(code + len, 0xcc, CODE_LEN - len);
			return len;
		}
	}
	return 0;
}

static int set_detail(struct check_func *f, enum lp_check_status st, const char *fmt, ...)
	LP_PRINTF(3, 4);

static int set_detail(struct check_func *f, enum lp_check_status st, const char *fmt, ...)
{
	va_list ap;
	int n;

	f->status = st;
	va_start(ap, fmt);
	n = vasprintf(&f->detail, fmt, ap);
	va_end(ap);
	if (n < 0) {
		f->detail = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* "cc cc ... | 90 90": the pad, then the entry (after endbr64 if any). */
static void hex_code(const uint8_t code[CODE_LEN], char *buf, size_t len)
{
	size_t i, end = LP_PAD_LEN + LP_ENTRY_LEN, at = 0;

	if (!memcmp(code + LP_PAD_LEN, "\xf3\x0f\x1e\xfa", LP_ENDBR_LEN))
		end += LP_ENDBR_LEN;
	for (i = 0; i < end && at + 6 < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%02x",
				       i == LP_PAD_LEN ? " | " : i ? " " : "", code[i]);
}

/* No pad: written by hand in assembly, or compiled without one? */
static int no_pad(const struct scan *s, struct check_func *f, const char *why)
{
	if (f->file && asm_source(f->file))
		return set_detail(f, LP_CHECK_ASM, "from %s", f->file);
	if ((!f->file || !compiled_source(f->file)) && s->has_eh && !has_fde(s, f->link))
		return set_detail(f, LP_CHECK_ASM, "no unwind information%s%s%s",
				  f->file ? ", from object " : "", f->file ? f->file : "",
				  f->file ? " (no source file name)" : "");
	return set_detail(f, LP_CHECK_NO_PAD, "%s", why);
}

static int classify(const struct scan *s, struct check_func *f, bool ifunc)
{
	uint8_t code[CODE_LEN];
	struct lp_entry entry;
	const char *why = NULL;
	char hex[96];
	uint64_t pad = f->link - LP_PAD_LEN, near;
	int listed = -1, err;

	if (ifunc)
		return set_detail(f, LP_CHECK_IFUNC,
				  "the address is its resolver%s%s%s, which picks an implementation as the program loads: patch that one",
				  f->naliases ? " (" : "", f->naliases ? f->aliases[0] : "",
				  f->naliases ? ")" : "");
	if (!read_code(s, f->link, code))
		return set_detail(f, LP_CHECK_NO_ROOM,
				  "fewer than %d bytes before it in its segment", LP_PAD_LEN);
	if (s->has_pads)
		listed = pad_at_or_after(s, pad) == pad;
	err = lp_decode_pad(code, sizeof(code), &entry, &why);
	if (!err) {
		if (listed)
			return set_detail(f, LP_CHECK_PATCHABLE, "%s", "");
		/* alignment NOPs can look like a pad (lp_check_pad) */
		return no_pad(s, f, "NOPs before it, but not in __patchable_function_entries: alignment");
	}
	if (err == -LP_EPATCHED) {
		const struct lp_jpatch *p;

		if (!s->proc)
			return set_detail(f, LP_CHECK_PAD_NOT_NOPS,
					  "the file holds the jumps of a patch");
		p = s->journal ? lp_journal_live(s->journal, f->addr, NULL) : NULL;
		if (p)
			return set_detail(f, LP_CHECK_PATCHED, "by patch %s (%s)", p->id,
					  p->name ? p->name : "");
		return set_detail(f, LP_CHECK_FOREIGN_PATCH,
				  "it holds the jumps of a patch that no applied patch of the journal records");
	}
	hex_code(code, hex, sizeof(hex));
	if (listed == 1)
		return set_detail(f, LP_CHECK_PAD_NOT_NOPS, "%s (found %s)", why, hex);
	/* a pad of another shape: -fpatchable-function-entry=N,M lists each
	 * function's pad from M bytes before it */
	near = s->has_pads ? pad_at_or_after(s, pad + 1) : UINT64_MAX;
	if (near <= f->link)
		return set_detail(f, LP_CHECK_OTHER_PAD,
				  "listed in __patchable_function_entries from %" PRIu64
				  " bytes before the entry, not %d: built with another -fpatchable-function-entry than 16,14",
				  f->link - near, LP_PAD_LEN);
	return no_pad(s, f, "");
}

/* ---- one module ------------------------------------------------------------ */

static int cmp_ref_addr(const void *a, const void *b)
{
	const struct sym_ref *x = a, *y = b;

	if (x->s->value != y->s->value)
		return x->s->value < y->s->value ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static unsigned int leading_underscores(const char *s)
{
	return (unsigned int)strspn(s, "_");
}

/*
 * Of two symbols at one address, the name to show first: the ifunc
 * (that is what the address is), then a name without a compiler suffix,
 * a global one rather than a local alias, and fewer leading underscores
 * (memcpy rather than __memcpy); then the order of the table.
 */
static bool better_name(const struct sym_ref *a, const struct sym_ref *b)
{
	bool da = strchr(a->s->name, '.') != NULL, db = strchr(b->s->name, '.') != NULL;
	unsigned int ua = leading_underscores(a->s->name), ub = leading_underscores(b->s->name);

	if (a->s->ifunc != b->s->ifunc)
		return a->s->ifunc;
	if (da != db)
		return !da;
	if (a->s->local != b->s->local)
		return !a->s->local;
	if (ua != ub)
		return ua < ub;
	return a->idx < b->idx;
}

static void func_free(struct check_func *f)
{
	size_t i;

	free(f->name);
	for (i = 0; i < f->naliases; i++)
		free(f->aliases[i]);
	free(f->aliases);
	free(f->file);
	free(f->detail);
}

static void module_free(struct check_module *m)
{
	size_t i;

	for (i = 0; i < m->nfuncs; i++)
		func_free(&m->funcs[i]);
	free(m->funcs);
	for (i = 0; i < m->ncopies; i++) {
		free(m->copies[i].name);
		free(m->copies[i].base);
	}
	free(m->copies);
	free(m->path);
}

/* One function from the symbols [g, e) at its address. */
static int make_func(const struct scan *s, struct check_func *f,
		     const struct sym_ref *g, const struct sym_ref *e)
{
	const struct sym_ref *best = g, *r;
	bool ifunc = false;
	uint64_t size = 0;

	for (r = g; r < e; r++) {
		if (better_name(r, best))
			best = r;
		ifunc |= r->s->ifunc;
		if (r->s->size > size)
			size = r->s->size;
	}
	memset(f, 0, sizeof(*f));
	f->link = g->s->value;
	f->addr = g->s->value + s->bias;
	f->size = size;
	f->name = strdup(best->s->name);
	f->file = best->s->file ? strdup(best->s->file) : NULL;
	f->aliases = calloc((size_t)(e - g), sizeof(*f->aliases));
	if (!f->name || (best->s->file && !f->file) || !f->aliases)
		return -ENOMEM;
	for (r = g; r < e; r++) {
		size_t k;

		if (!strcmp(r->s->name, f->name))
			continue;
		for (k = 0; k < f->naliases && strcmp(f->aliases[k], r->s->name); k++)
			;
		if (k < f->naliases)
			continue; /* the same name twice in the table */
		f->aliases[f->naliases] = strdup(r->s->name);
		if (!f->aliases[f->naliases])
			return -ENOMEM;
		f->naliases++;
	}
	return classify(s, f, ifunc);
}

/* Index of the function at @addr (link-time), or NONE. */
static size_t func_at(const struct check_module *m, uint64_t link)
{
	size_t lo = 0, hi = m->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->funcs[mid].link < link)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nfuncs && m->funcs[lo].link == link ? lo : NONE;
}

/* A name of the module's functions, for finding a copy's base. */
struct name_ref {
	const char *name;
	const char *file;
	size_t func;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->func < y->func ? -1 : x->func > y->func;
}

/*
 * The function a copy was made from: the one named @base (primary name
 * or alias); of several (statics of that name in several files), the one
 * from the copy's own file.
 */
static size_t find_base(const struct name_ref *names, size_t n, const char *base,
			size_t base_len, const char *file)
{
	size_t lo = 0, hi = n, found = NONE;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(names[mid].name, base, base_len);

		if (!c && names[mid].name[base_len])
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !strncmp(names[lo].name, base, base_len) &&
	       !names[lo].name[base_len]; lo++) {
		if (found == NONE)
			found = names[lo].func;
		if (file && names[lo].file && !strcmp(file, names[lo].file))
			return names[lo].func;
	}
	return found;
}

static int cmp_copy(const void *a, const void *b)
{
	const struct check_copy *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	if (c)
		return c;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The compiler's copies among the symbols @refs (sorted by address). */
static int find_copies(const struct scan *s, struct check_module *m,
		       const struct sym_ref *refs, size_t nrefs)
{
	struct name_ref *names;
	size_t i, k, nnames = 0;

	for (i = 0; i < m->nfuncs; i++)
		nnames += 1 + m->funcs[i].naliases;
	names = calloc(nnames ? nnames : 1, sizeof(*names));
	m->copies = calloc(nrefs ? nrefs : 1, sizeof(*m->copies));
	if (!names || !m->copies) {
		free(names);
		return -ENOMEM;
	}
	for (i = 0, nnames = 0; i < m->nfuncs; i++) {
		names[nnames++] = (struct name_ref){ m->funcs[i].name, m->funcs[i].file, i };
		for (k = 0; k < m->funcs[i].naliases; k++)
			names[nnames++] = (struct name_ref){ m->funcs[i].aliases[k],
							     NULL, i };
	}
	qsort(names, nnames, sizeof(*names), cmp_name_ref);
	for (i = 0; i < nrefs; i++) {
		const struct lp_func_sym *sym = refs[i].s;
		struct check_copy *c = &m->copies[m->ncopies];
		size_t base_len;
		const char *kind = copy_kind(sym->name, &base_len);

		if (!kind)
			continue;
		c->kind = kind;
		c->name = strdup(sym->name);
		c->base = strndup(sym->name, base_len);
		if (!c->name || !c->base) {
			free(c->name);
			free(c->base);
			free(names);
			return -ENOMEM;
		}
		m->ncopies++;
		c->addr = sym->value + s->bias;
		c->entry = strcmp(kind, "cold") != 0;
		c->func = c->entry ? func_at(m, sym->value) : NONE;
		if (c->func == NONE)
			c->entry = false; /* a part, or a symbol of size 0 */
		c->base_func = find_base(names, nnames, sym->name, base_len, sym->file);
		c->same_entry = c->base_func != NONE &&
				m->funcs[c->base_func].link == sym->value;
	}
	free(names);
	qsort(m->copies, m->ncopies, sizeof(*m->copies), cmp_copy);
	return 0;
}

static int scan_module(struct scan *s, struct check_module *m)
{
	struct lp_func_sym *syms = NULL;
	struct sym_ref *refs = NULL, *ents = NULL;
	const uint64_t *pads;
	size_t nsyms, nrefs = 0, i, j;
	bool symtab;
	int err;

	err = lp_elf_func_syms(s->elf, &syms, &nsyms, &symtab);
	if (err)
		return err;
	m->stripped = !symtab;
	err = lp_elf_pad_list(s->elf, &pads, &s->npads);
	if (err == -ENOMEM)
		goto out;
	s->has_pads = m->pad_list = err == 0;
	err = 0; /* no list: the bytes decide, as for lp_check_pad */
	if (s->has_pads) {
		s->pads = malloc((s->npads ? s->npads : 1) * sizeof(*s->pads));
		if (!s->pads) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(s->pads, pads, s->npads * sizeof(*s->pads));
		qsort(s->pads, s->npads, sizeof(*s->pads), cmp_u64);
	}
	s->has_eh = !lp_elf_eh_frame_hdr(s->elf, &s->eh);
	refs = calloc(nsyms ? nsyms : 1, sizeof(*refs));
	ents = calloc(nsyms ? nsyms : 1, sizeof(*ents));
	m->funcs = calloc(nsyms ? nsyms : 1, sizeof(*m->funcs));
	if (!refs || !ents || !m->funcs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nsyms; i++)
		if (lp_elf_in_exec_segment(s->elf, syms[i].value))
			refs[nrefs++] = (struct sym_ref){ &syms[i], i };
	qsort(refs, nrefs, sizeof(*refs), cmp_ref_addr);
	/* one function per address; .cold parts are no entries */
	for (i = 0; i < nrefs; i = j) {
		uint64_t size = 0;
		size_t nent = 0;

		for (j = i; j < nrefs && refs[j].s->value == refs[i].s->value; j++) {
			if (is_cold_part(refs[j].s->name))
				continue;
			ents[nent++] = refs[j];
			if (refs[j].s->size > size)
				size = refs[j].s->size;
		}
		if (!nent || !size)
			continue; /* a part, or labels of size 0 (crt's _init) */
		err = make_func(s, &m->funcs[m->nfuncs], ents, ents + nent);
		m->nfuncs++;
		if (err)
			goto out;
		if (m->funcs[m->nfuncs - 1].status == LP_CHECK_PATCHABLE ||
		    m->funcs[m->nfuncs - 1].status == LP_CHECK_PATCHED)
			m->npatchable++;
		if (m->funcs[m->nfuncs - 1].status == LP_CHECK_PATCHED)
			m->npatched++;
	}
	err = find_copies(s, m, refs, nrefs);
	lp_debug(s->ctx, "check %s: %zu of %zu functions patchable, %zu copies", m->path,
		 m->npatchable, m->nfuncs, m->ncopies);
out:
	free(ents);
	free(refs);
	free(syms);
	free(s->pads);
	s->pads = NULL;
	return err;
}

static int add_module(struct lp_check_report *r, struct scan *s, const char *path,
		      uint64_t bias)
{
	struct check_module *nm = realloc(r->mods, (r->nmods + 1) * sizeof(*nm)), *m;
	int err;

	if (!nm)
		return -ENOMEM;
	r->mods = nm;
	m = &r->mods[r->nmods++];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	m->bias = bias;
	if (lp_elf_build_id(s->elf, m->build_id, sizeof(m->build_id)))
		m->build_id[0] = 0;
	s->bias = bias;
	err = scan_module(s, m);
	return err == -ENOMEM ? lp_fail(s->ctx, err, "out of memory checking %s", path) : err;
}

/* ---- public -------------------------------------------------------------------- */

void lp_check_free(struct lp_check_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nmods; i++)
		module_free(&r->mods[i]);
	free(r->mods);
	free(r);
}

int lp_check_file(struct lp_ctx *ctx, const char *path, struct lp_check_report **out)
{
	struct lp_check_report *r;
	struct scan s = { .ctx = ctx };
	struct lp_elf *elf;
	uint64_t lo, hi;
	int err;

	ctx->err[0] = 0;
	*out = NULL;
	err = lp_elf_open(ctx, path, &elf);
	if (err)
		return err;
	lp_elf_text_range(elf, &lo, &hi);
	if (!lp_elf_is_x86_64(elf)) {
		err = lp_fail(ctx, -LP_EARCH, "%s is not an x86-64 ELF file", path);
		goto out;
	}
	if (hi <= lo) {
		err = lp_fail(ctx, -LP_EARCH,
			      "%s has no executable segment: check a linked program or library, not an object file",
			      path);
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	s.elf = elf;
	err = add_module(r, &s, path, 0);
	if (err)
		lp_check_free(r);
	else
		*out = r;
out:
	lp_elf_close(elf);
	return err;
}

int lp_check_process(struct lp_ctx *ctx, pid_t pid, struct lp_check_report **out)
{
	static const char ours[] = "/memfd:livepatch:";
	struct lp_check_report *r = NULL;
	struct lp_journal *j = NULL;
	struct lp_proc *proc;
	size_t i;
	int err;

	ctx->err[0] = 0;
	*out = NULL;
	err = lp_proc_open(ctx, pid, &proc);
	if (err)
		return err;
	/* without the journal, patched functions show as another tool's */
	if (lp_journal_load(proc, &j)) {
		lp_warn(ctx, "%s", ctx->err);
		ctx->err[0] = 0;
		j = NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < proc->nmods; i++) {
		struct lp_module *m = &proc->mods[i];
		struct scan s = { .ctx = ctx, .elf = m->elf, .proc = proc, .journal = j };

		/* the code of applied patches: not a target */
		if (!strncmp(m->path, ours, sizeof(ours) - 1))
			continue;
		err = add_module(r, &s, m->path, m->bias);
		if (err)
			goto out;
	}
	/* bytes read from a process that is gone mean nothing */
	if (lp_proc_check_alive(proc)) {
		err = lp_fail(ctx, -ESRCH, "process %d exited during the check", pid);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	lp_check_free(r);
	lp_journal_free(j);
	lp_proc_close(proc);
	return err;
}

size_t lp_check_nmodules(const struct lp_check_report *r)
{
	return r ? r->nmods : 0;
}

int lp_check_module(const struct lp_check_report *r, size_t m, struct lp_check_module *out)
{
	const struct check_module *cm;
	struct lp_check_module a;

	if (!r || m >= r->nmods || !out || out->sz < sizeof(size_t))
		return -EINVAL;
	cm = &r->mods[m];
	memset(&a, 0, sizeof(a));
	a.sz = out->sz < sizeof(a) ? out->sz : sizeof(a);
	a.path = cm->path;
	a.build_id = cm->build_id;
	a.bias = cm->bias;
	a.nfuncs = cm->nfuncs;
	a.npatchable = cm->npatchable;
	a.npatched = cm->npatched;
	a.ncopies = cm->ncopies;
	a.stripped = cm->stripped;
	a.pad_list = cm->pad_list;
	memcpy(out, &a, a.sz);
	return 0;
}

int lp_check_func(const struct lp_check_report *r, size_t m, size_t i,
		  struct lp_check_func *out)
{
	const struct check_func *f;
	struct lp_check_func a;

	if (!r || m >= r->nmods || i >= r->mods[m].nfuncs || !out ||
	    out->sz < sizeof(size_t))
		return -EINVAL;
	f = &r->mods[m].funcs[i];
	memset(&a, 0, sizeof(a));
	a.sz = out->sz < sizeof(a) ? out->sz : sizeof(a);
	a.name = f->name;
	a.aliases = (const char *const *)f->aliases;
	a.naliases = f->naliases;
	a.file = f->file;
	a.addr = f->addr;
	a.size = f->size;
	a.status = f->status;
	a.detail = f->detail ? f->detail : "";
	a.patchable = f->status == LP_CHECK_PATCHABLE || f->status == LP_CHECK_PATCHED;
	memcpy(out, &a, a.sz);
	return 0;
}

int lp_check_copy(const struct lp_check_report *r, size_t m, size_t i,
		  struct lp_check_copy *out)
{
	const struct check_copy *c;
	struct lp_check_copy a;

	if (!r || m >= r->nmods || i >= r->mods[m].ncopies || !out ||
	    out->sz < sizeof(size_t))
		return -EINVAL;
	c = &r->mods[m].copies[i];
	memset(&a, 0, sizeof(a));
	a.sz = out->sz < sizeof(a) ? out->sz : sizeof(a);
	a.name = c->name;
	a.base = c->base;
	a.kind = c->kind;
	a.addr = c->addr;
	a.entry = c->entry;
	a.same_entry = c->same_entry;
	a.func = c->func;
	a.base_func = c->base_func;
	memcpy(out, &a, a.sz);
	return 0;
}
