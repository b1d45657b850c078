/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helper of tests/integration/hostile.sh: damage a patch file on purpose,
 * then seal it again with lp_patch_seal() so that its checksum passes and
 * "livepatch apply" has to catch the damage with its structural checks.
 *
 * Usage: reseal [-n] FILE [EDIT...]
 *
 * The EDITs are made in order, in place, to the x86-64 ELF patch FILE;
 * then FILE is sealed (not with -n).  With no EDIT it is only sealed.
 * Replace entry 0 is the first struct livepatch_replace of the
 * .livepatch.replace section; the value of one of its two pointers is the
 * addend of the R_X86_64_RELATIVE relocation of that pointer.
 *
 *   machine=N         e_machine (183 is aarch64, 3 is i386)
 *   type=N            e_type (2 is ET_EXEC)
 *   shoff=N           e_shoff, where the section headers are
 *   shnum=N           e_shnum
 *   replace-size=N    sh_size of .livepatch.replace
 *   info-size=N       sh_size of .livepatch.info
 *   symbols-size=N    sh_size of .livepatch.symbols
 *   name=V            the old-name pointer of replace entry 0
 *   new=V             the new-function pointer of replace entry 0
 *   name-text=S       the old name of replace entry 0, overwritten in
 *                     place by S (no longer than it)
 *   reloc-type=N      the type of the relocation of that old-name pointer
 *   reloc-offset=N    its r_offset (the address it patches)
 *   reloc-sym=N       its symbol index
 *   rela-size=N       sh_size of .rela.dyn
 *   exec-offset=N     p_offset of the executable PT_LOAD
 *   exec-filesz=N     its p_filesz
 *   exec-memsz=N      its p_memsz
 *   exec-flags=N      its p_flags (PF_X 1, PF_W 2, PF_R 4)
 *   last-vaddr=N      p_vaddr of the last PT_LOAD
 *   overlap           the last PT_LOAD at the address of the one before
 *   phnum=N           e_phnum
 *
 * N is a number as strtoull reads it (0x... for hex).  V is a number, or
 * "info" for the address of .livepatch.info (data, not code), or "text"
 * for the start of the executable segment (code, but no function).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <livepatch/livepatch.h>

static const char *file;
static unsigned char *img;
static size_t len;

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "reseal: %s: %s\n", file, what);
	exit(1);
}

static void need(size_t off, size_t n)
{
	if (off > len || n > len - off)
		die("not a patch this helper can edit (out of bounds)");
}

static Elf64_Ehdr *ehdr(void)
{
	need(0, sizeof(Elf64_Ehdr));
	if (memcmp(img, ELFMAG, SELFMAG) || img[EI_CLASS] != ELFCLASS64)
		die("not a 64-bit ELF file");
	return (Elf64_Ehdr *)img;
}

static Elf64_Shdr *shdr(size_t i)
{
	Elf64_Ehdr *eh = ehdr();

	if (i >= eh->e_shnum || eh->e_shentsize != sizeof(Elf64_Shdr))
		die("no such section");
	need(eh->e_shoff + i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
	return (Elf64_Shdr *)(img + eh->e_shoff + i * sizeof(Elf64_Shdr));
}

static Elf64_Shdr *section(const char *name)
{
	Elf64_Ehdr *eh = ehdr();
	Elf64_Shdr *strs = shdr(eh->e_shstrndx);
	size_t i;

	for (i = 1; i < eh->e_shnum; i++) {
		Elf64_Shdr *sh = shdr(i);

		need(strs->sh_offset + sh->sh_name, strlen(name) + 1);
		if (!memcmp(img + strs->sh_offset + sh->sh_name, name, strlen(name) + 1))
			return sh;
	}
	fprintf(stderr, "reseal: %s: no section %s\n", file, name);
	exit(1);
}

static Elf64_Phdr *phdr(size_t i)
{
	Elf64_Ehdr *eh = ehdr();

	if (i >= eh->e_phnum || eh->e_phentsize != sizeof(Elf64_Phdr))
		die("no such program header");
	need(eh->e_phoff + i * sizeof(Elf64_Phdr), sizeof(Elf64_Phdr));
	return (Elf64_Phdr *)(img + eh->e_phoff + i * sizeof(Elf64_Phdr));
}

/* The executable PT_LOAD (exec true), or the last PT_LOAD. */
static Elf64_Phdr *load_segment(int exec, size_t *index)
{
	Elf64_Phdr *found = NULL;
	size_t i;

	for (i = 0; i < ehdr()->e_phnum; i++) {
		Elf64_Phdr *ph = phdr(i);

		if (ph->p_type != PT_LOAD)
			continue;
		if (exec && !(ph->p_flags & PF_X))
			continue;
		found = ph;
		if (index)
			*index = i;
		if (exec)
			break;
	}
	if (!found)
		die("no such PT_LOAD segment");
	return found;
}

/* The relocation of pointer @k (0 name, 1 function) of replace entry 0. */
static Elf64_Rela *replace_reloc(int k)
{
	Elf64_Shdr *rep = section(".livepatch.replace"), *rela = section(".rela.dyn");
	size_t off;

	for (off = rela->sh_offset; off + sizeof(Elf64_Rela) <= rela->sh_offset + rela->sh_size;
	     off += sizeof(Elf64_Rela)) {
		Elf64_Rela *r;

		need(off, sizeof(*r));
		r = (Elf64_Rela *)(img + off);
		if (r->r_offset == rep->sh_addr + 8 * (uint64_t)k)
			return r;
	}
	die("no relocation for replace entry 0");
}

static unsigned long long number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "reseal: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static unsigned long long value(const char *s)
{
	if (!strcmp(s, "info"))
		return section(".livepatch.info")->sh_addr;
	if (!strcmp(s, "text"))
		return load_segment(1, NULL)->p_vaddr;
	return number(s);
}

static void edit(const char *e)
{
	const char *eq = strchr(e, '=');
	const char *v = eq ? eq + 1 : "";
	size_t klen = eq ? (size_t)(eq - e) : strlen(e);

#define IS(k) (klen == strlen(k) && !strncmp(e, k, klen))
	if (IS("machine")) {
		ehdr()->e_machine = (Elf64_Half)number(v);
	} else if (IS("type")) {
		ehdr()->e_type = (Elf64_Half)number(v);
	} else if (IS("shoff")) {
		ehdr()->e_shoff = number(v);
	} else if (IS("shnum")) {
		ehdr()->e_shnum = (Elf64_Half)number(v);
	} else if (IS("phnum")) {
		ehdr()->e_phnum = (Elf64_Half)number(v);
	} else if (IS("replace-size")) {
		section(".livepatch.replace")->sh_size = number(v);
	} else if (IS("info-size")) {
		section(".livepatch.info")->sh_size = number(v);
	} else if (IS("symbols-size")) {
		section(".livepatch.symbols")->sh_size = number(v);
	} else if (IS("rela-size")) {
		section(".rela.dyn")->sh_size = number(v);
	} else if (IS("name")) {
		replace_reloc(0)->r_addend = (Elf64_Sxword)value(v);
	} else if (IS("new")) {
		replace_reloc(1)->r_addend = (Elf64_Sxword)value(v);
	} else if (IS("name-text")) {
		uint64_t va = (uint64_t)replace_reloc(0)->r_addend;
		Elf64_Shdr *ro = section(".rodata");
		size_t off = ro->sh_offset + (va - ro->sh_addr);

		if (va < ro->sh_addr || va - ro->sh_addr >= ro->sh_size)
			die("the old name is not in .rodata");
		need(off, strlen(v) + 1);
		if (strlen((const char *)img + off) < strlen(v))
			die("the new old name is longer than the old one");
		memcpy(img + off, v, strlen(v));
	} else if (IS("reloc-type")) {
		Elf64_Rela *r = replace_reloc(0);

		r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), number(v));
	} else if (IS("reloc-offset")) {
		replace_reloc(0)->r_offset = number(v);
	} else if (IS("reloc-sym")) {
		Elf64_Rela *r = replace_reloc(0);

		r->r_info = ELF64_R_INFO(number(v), ELF64_R_TYPE(r->r_info));
	} else if (IS("exec-offset")) {
		load_segment(1, NULL)->p_offset = number(v);
	} else if (IS("exec-filesz")) {
		load_segment(1, NULL)->p_filesz = number(v);
	} else if (IS("exec-memsz")) {
		load_segment(1, NULL)->p_memsz = number(v);
	} else if (IS("exec-flags")) {
		load_segment(1, NULL)->p_flags = (Elf64_Word)number(v);
	} else if (IS("last-vaddr")) {
		load_segment(0, NULL)->p_vaddr = number(v);
	} else if (IS("overlap")) {
		size_t last, i;
		Elf64_Phdr *ph = load_segment(0, &last);

		for (i = last; i-- > 0;)
			if (phdr(i)->p_type == PT_LOAD) {
				ph->p_vaddr = phdr(i)->p_vaddr;
				return;
			}
		die("a single PT_LOAD segment");
	} else {
		fprintf(stderr, "reseal: unknown edit %s\n", e);
		exit(2);
	}
#undef IS
}

int main(int argc, char **argv)
{
	struct lp_ctx *ctx;
	int seal = 1, i = 1, err;
	FILE *f;
	long n = 0;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		seal = 0;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: reseal [-n] FILE [EDIT...]\n");
		return 2;
	}
	file = argv[i++];
	if (i < argc) {
		f = fopen(file, "rb");
		if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
			die(strerror(errno));
		len = (size_t)n;
		img = malloc(len ? len : 1);
		if (!img || fread(img, 1, len, f) != len)
			die("cannot read it");
		fclose(f);
		for (; i < argc; i++)
			edit(argv[i]);
		f = fopen(file, "wb");
		if (!f || fwrite(img, 1, len, f) != len || fclose(f))
			die("cannot write it");
		free(img);
	}
	if (!seal)
		return 0;
	if (lp_ctx_new(&ctx))
		die("out of memory");
	err = lp_patch_seal(ctx, file);
	if (err) {
		fprintf(stderr, "reseal: %s\n", *lp_ctx_errmsg(ctx) ? lp_ctx_errmsg(ctx) :
			lp_strerror(err));
		return 1;
	}
	lp_ctx_free(ctx);
	return 0;
}
