/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonq: check a JSON document and print one value of it, for the
 * integration tests (a fresh machine has neither jq nor python).
 *
 * Usage: jsonq FILE EXPR
 *
 * FILE must hold exactly one JSON value as RFC 8259 defines it, strictly:
 * UTF-8 without a byte order mark; no comments, trailing commas, single
 * quotes, NaN or Infinity, leading zeros, unescaped control characters or
 * invalid UTF-8 in strings; nothing after the value but white space.  On
 * top of the RFC, the names of one object must differ (it only recommends
 * that): a document with a duplicate name is refused too.
 *
 * EXPR is "." (the whole document) or a path of steps after it:
 *   .NAME      the member NAME of an object (letters, digits, _ and -)
 *   ["NAME"]   the member NAME, any name, written as a JSON string
 *   [N]        element N of an array, from 0 (negative: from the end)
 * e.g. ".processes[0].patches[1].id", optionally followed by
 *   |length    the number of elements of an array or members of an object
 *   |type      object, array, string, number, boolean or null
 *
 * The value is printed on a line of its own: a string unescaped, without
 * the quotes; a number, true, false or null as written in FILE; an object
 * or an array as compact JSON (the text of FILE without the white space
 * outside strings).
 *
 * Exit status: 0 the value was printed; 2 there is no such value (a member
 * or element missing, or a step or |length on a value of the wrong type);
 * 3 FILE is not valid JSON (stderr says where and why); 1 usage error, bad
 * EXPR or FILE unreadable.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_NOVALUE = 2, EXIT_INVALID = 3 };

#define MAX_DEPTH 512

enum type { T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING, T_ARRAY, T_OBJECT };

static const char *const type_names[] = {
	"null", "boolean", "boolean", "number", "string", "array", "object",
};

struct node {
	enum type type;
	size_t start, end; /* its text in the document: [start, end) */
	long first;        /* arrays, objects: first element or member, or -1 */
	long next;         /* the next element or member of the parent, or -1 */
	long key;          /* members: the node of the name, else -1 */
	size_t count;      /* arrays, objects: elements or members */
};

static const char *file_name;
static const unsigned char *doc;
static size_t doc_len;
static struct node *nodes;
static size_t nnodes, capnodes;

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "jsonq: out of memory\n");
		exit(EXIT_USAGE);
	}
	return p;
}

/* ---- errors in the document --------------------------------------------- */

static void invalid(size_t at, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void invalid(size_t at, const char *fmt, ...)
{
	size_t line = 1, col = 1;
	va_list ap;

	for (size_t i = 0; i < at && i < doc_len; i++) {
		if (doc[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	fprintf(stderr, "jsonq: %s: not valid JSON: line %zu, column %zu: ",
		file_name, line, col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_INVALID);
}

/* What is at @at, for the messages. */
static const char *what_at(size_t at)
{
	static char buf[32];

	if (at >= doc_len)
		return "the end of the file";
	if (doc[at] >= 0x20 && doc[at] < 0x7f)
		snprintf(buf, sizeof(buf), "'%c'", doc[at]);
	else
		snprintf(buf, sizeof(buf), "byte 0x%02x", doc[at]);
	return buf;
}

/* ---- strings -------------------------------------------------------------- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 4 hex digits at s[0..3], or -1. */
static long hex4(const unsigned char *s, size_t avail)
{
	long v = 0;

	if (avail < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Length of the UTF-8 sequence at s (at most avail bytes), 0 if it is not
 * a well-formed one (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * Check the string whose opening quote is at s[0] (len bytes available);
 * returns its length with both quotes, or 0 with *err and *err_at set.
 */
static size_t scan_string(const unsigned char *s, size_t len, const char **err,
			  size_t *err_at)
{
	size_t i = 1;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20) {
			*err = "control character in a string (it must be escaped)";
			*err_at = i;
			return 0;
		}
		if (c == '\\') {
			if (i + 1 >= len)
				break;
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				i += 2;
				continue;
			case 'u':
				if (hex4(s + i + 2, len - i - 2) < 0) {
					*err = "\\u must be followed by 4 hex digits";
					*err_at = i;
					return 0;
				}
				i += 6;
				continue;
			default:
				*err = "invalid escape in a string";
				*err_at = i;
				return 0;
			}
		}
		if (c >= 0x80) {
			size_t n = utf8_len(s + i, len - i);

			if (!n) {
				*err = "invalid UTF-8 in a string";
				*err_at = i;
				return 0;
			}
			i += n;
			continue;
		}
		i++;
	}
	*err = "unterminated string";
	*err_at = len;
	return 0;
}

static size_t put_utf8(unsigned char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The value of a checked string s[0..len) (quotes included), unescaped, in
 * a new buffer (NUL-terminated; *out_len its length, which may hold NULs).
 * A lone surrogate escape becomes U+FFFD.
 */
static char *unescape(const unsigned char *s, size_t len, size_t *out_len)
{
	unsigned char *out = xrealloc(NULL, len);
	size_t o = 0;

	for (size_t i = 1; i + 1 < len;) {
		unsigned long cp;

		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': out[o++] = '\b'; i += 2; continue;
		case 'f': out[o++] = '\f'; i += 2; continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u': break;
		default: out[o++] = s[i + 1]; i += 2; continue;
		}
		cp = (unsigned long)hex4(s + i + 2, 4);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= len - 1 &&
		    s[i] == '\\' && s[i + 1] == 'u') {
			long lo = hex4(s + i + 2, 4);

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     ((unsigned long)lo - 0xdc00);
				i += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		/* at most 4 bytes out for 6 in: out stays within len */
		o += put_utf8(out + o, cp);
	}
	out[o] = 0;
	*out_len = o;
	return (char *)out;
}

/* ---- the parser --------------------------------------------------------------- */

static size_t pos;

static void skip_ws(void)
{
	while (pos < doc_len && (doc[pos] == ' ' || doc[pos] == '\t' ||
				 doc[pos] == '\n' || doc[pos] == '\r'))
		pos++;
}

static long new_node(enum type type, size_t start)
{
	if (nnodes == capnodes) {
		capnodes = capnodes ? capnodes * 2 : 64;
		nodes = xrealloc(nodes, capnodes * sizeof(*nodes));
	}
	nodes[nnodes] = (struct node){ type, start, start, -1, -1, -1, 0 };
	return (long)nnodes++;
}

static int is_digit(size_t at)
{
	return at < doc_len && doc[at] >= '0' && doc[at] <= '9';
}

static void parse_number(long n)
{
	if (pos < doc_len && doc[pos] == '-')
		pos++;
	if (!is_digit(pos))
		invalid(pos, "expected a digit, found %s", what_at(pos));
	if (doc[pos] == '0') {
		pos++;
		if (is_digit(pos))
			invalid(pos - 1, "number with a leading zero");
	} else {
		while (is_digit(pos))
			pos++;
	}
	if (pos < doc_len && doc[pos] == '.') {
		pos++;
		if (!is_digit(pos))
			invalid(pos, "expected a digit after the decimal point, found %s",
				what_at(pos));
		while (is_digit(pos))
			pos++;
	}
	if (pos < doc_len && (doc[pos] == 'e' || doc[pos] == 'E')) {
		pos++;
		if (pos < doc_len && (doc[pos] == '+' || doc[pos] == '-'))
			pos++;
		if (!is_digit(pos))
			invalid(pos, "expected a digit in the exponent, found %s",
				what_at(pos));
		while (is_digit(pos))
			pos++;
	}
	nodes[n].end = pos;
}

static void parse_string(long n)
{
	const char *err = NULL;
	size_t err_at = 0;
	size_t len = scan_string(doc + pos, doc_len - pos, &err, &err_at);

	if (!len)
		invalid(pos + err_at, "%s", err);
	pos += len;
	nodes[n].end = pos;
}

static void parse_literal(long n, const char *word)
{
	size_t len = strlen(word);

	if (doc_len - pos < len || memcmp(doc + pos, word, len) != 0)
		invalid(pos, "unexpected %s", what_at(pos));
	pos += len;
	nodes[n].end = pos;
}

static int same_name(long a, long b)
{
	size_t la, lb;
	char *sa = unescape(doc + nodes[a].start, nodes[a].end - nodes[a].start, &la);
	char *sb = unescape(doc + nodes[b].start, nodes[b].end - nodes[b].start, &lb);
	int same = la == lb && memcmp(sa, sb, la) == 0;

	free(sa);
	free(sb);
	return same;
}

static long parse_value(unsigned int depth);

/* Arrays and objects; pos is at the opening bracket. */
static void parse_container(long n, unsigned int depth)
{
	int object = nodes[n].type == T_OBJECT;
	char close = object ? '}' : ']';
	long last = -1;

	if (depth >= MAX_DEPTH)
		invalid(pos, "nested deeper than %d levels", MAX_DEPTH);
	pos++;
	skip_ws();
	if (pos < doc_len && doc[pos] == close) {
		pos++;
		nodes[n].end = pos;
		return;
	}
	for (;;) {
		long key = -1, v;

		skip_ws();
		if (object) {
			if (pos >= doc_len || doc[pos] != '"')
				invalid(pos, "expected a member name (a string), found %s",
					what_at(pos));
			key = new_node(T_STRING, pos);
			parse_string(key);
			skip_ws();
			if (pos >= doc_len || doc[pos] != ':')
				invalid(pos, "expected ':' after a member name, found %s",
					what_at(pos));
			pos++;
		}
		v = parse_value(depth + 1);
		nodes[v].key = key;
		if (key >= 0) {
			for (long m = nodes[n].first; m >= 0; m = nodes[m].next)
				if (same_name(nodes[m].key, key))
					invalid(nodes[key].start, "duplicate member name %.*s",
						(int)(nodes[key].end - nodes[key].start),
						(const char *)doc + nodes[key].start);
		}
		if (last < 0)
			nodes[n].first = v;
		else
			nodes[last].next = v;
		last = v;
		nodes[n].count++;
		skip_ws();
		if (pos < doc_len && doc[pos] == ',') {
			pos++;
			skip_ws();
			if (pos < doc_len && doc[pos] == close)
				invalid(pos, "trailing comma");
			continue;
		}
		if (pos < doc_len && doc[pos] == close) {
			pos++;
			nodes[n].end = pos;
			return;
		}
		invalid(pos, "expected ',' or '%c', found %s", close, what_at(pos));
	}
}

static long parse_value(unsigned int depth)
{
	long n;

	skip_ws();
	if (pos >= doc_len)
		invalid(pos, "expected a value, found the end of the file");
	switch (doc[pos]) {
	case '{':
		n = new_node(T_OBJECT, pos);
		parse_container(n, depth);
		return n;
	case '[':
		n = new_node(T_ARRAY, pos);
		parse_container(n, depth);
		return n;
	case '"':
		n = new_node(T_STRING, pos);
		parse_string(n);
		return n;
	case 't':
		n = new_node(T_TRUE, pos);
		parse_literal(n, "true");
		return n;
	case 'f':
		n = new_node(T_FALSE, pos);
		parse_literal(n, "false");
		return n;
	case 'n':
		n = new_node(T_NULL, pos);
		parse_literal(n, "null");
		return n;
	default:
		if (doc[pos] == '-' || (doc[pos] >= '0' && doc[pos] <= '9')) {
			n = new_node(T_NUMBER, pos);
			parse_number(n);
			return n;
		}
		if (pos == 0 && doc_len >= 3 && doc[0] == 0xef && doc[1] == 0xbb &&
		    doc[2] == 0xbf)
			invalid(pos, "byte order mark");
		invalid(pos, "expected a value, found %s", what_at(pos));
	}
}

/* ---- the expression ------------------------------------------------------- */

enum step_kind { S_NAME, S_INDEX };

struct step {
	enum step_kind kind;
	char *name; /* S_NAME */
	size_t name_len;
	long index; /* S_INDEX */
};

enum filter { F_NONE, F_LENGTH, F_TYPE };

static struct step *steps;
static size_t nsteps;
static enum filter filter = F_NONE;

static void bad_expr(const char *expr, const char *why)
	__attribute__((noreturn));

static void bad_expr(const char *expr, const char *why)
{
	fprintf(stderr, "jsonq: bad expression '%s': %s\n", expr, why);
	exit(EXIT_USAGE);
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static char *copy(const char *s, size_t len)
{
	char *c = xrealloc(NULL, len + 1);

	memcpy(c, s, len);
	c[len] = 0;
	return c;
}

/* The first '|' of expr outside a quoted name, or NULL. */
static const char *find_bar(const char *expr)
{
	int in_string = 0;

	for (const char *p = expr; *p; p++) {
		if (in_string && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			in_string = !in_string;
		else if (!in_string && *p == '|')
			return p;
	}
	return NULL;
}

static void add_step(struct step s)
{
	steps = xrealloc(steps, (nsteps + 1) * sizeof(*steps));
	steps[nsteps++] = s;
}

static void parse_expr(const char *expr)
{
	const char *p = expr, *bar = find_bar(expr);
	size_t path_len = bar ? (size_t)(bar - expr) : strlen(expr);

	while (path_len > 0 && (expr[path_len - 1] == ' ' || expr[path_len - 1] == '\t'))
		path_len--;
	if (bar) {
		const char *f = bar + 1;
		size_t flen;

		while (*f == ' ' || *f == '\t')
			f++;
		flen = strlen(f);
		while (flen > 0 && (f[flen - 1] == ' ' || f[flen - 1] == '\t'))
			flen--;
		if (flen == 6 && strncmp(f, "length", 6) == 0)
			filter = F_LENGTH;
		else if (flen == 4 && strncmp(f, "type", 4) == 0)
			filter = F_TYPE;
		else
			bad_expr(expr, "the only filters are |length and |type");
	}
	if (path_len == 0 || p[0] != '.')
		bad_expr(expr, "a path starts with '.'");
	if (path_len == 1)
		return;
	if (p[1] == '[')
		p++; /* "." then "[...]" */
	else if (!is_name_char(p[1]))
		bad_expr(expr, "expected a name or '[' after the first '.'");
	while (p < expr + path_len) {
		const char *end = expr + path_len;

		if (*p == '.') {
			const char *q = ++p;

			while (q < end && is_name_char(*q))
				q++;
			if (q == p)
				bad_expr(expr, "expected a name after '.'");
			add_step((struct step){ S_NAME, copy(p, (size_t)(q - p)),
						(size_t)(q - p), 0 });
			p = q;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (q < end && *q == '"') {
				const char *err = NULL;
				size_t err_at = 0;
				size_t len = scan_string((const unsigned char *)q,
							 (size_t)(end - q), &err, &err_at);
				struct step s = { S_NAME, NULL, 0, 0 };

				if (!len)
					bad_expr(expr, err);
				s.name = unescape((const unsigned char *)q, len, &s.name_len);
				add_step(s);
				q += len;
			} else {
				char *num_end;
				long idx;

				errno = 0;
				idx = strtol(q, &num_end, 10);
				if (num_end == q || errno || (*q != '-' && (*q < '0' || *q > '9')))
					bad_expr(expr, "expected a number or a string in [ ]");
				add_step((struct step){ S_INDEX, NULL, 0, idx });
				q = num_end;
			}
			if (q >= end || *q != ']')
				bad_expr(expr, "expected ']'");
			p = q + 1;
		} else {
			bad_expr(expr, "expected '.' or '['");
		}
	}
}

/* ---- output ------------------------------------------------------------------- */

/* The text of node n without white space outside strings. */
static void print_compact(long n)
{
	int in_string = 0;

	for (size_t i = nodes[n].start; i < nodes[n].end; i++) {
		unsigned char c = doc[i];

		if (in_string) {
			putchar(c);
			if (c == '\\') {
				putchar(doc[++i]);
			} else if (c == '"') {
				in_string = 0;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '"')
			in_string = 1;
		putchar(c);
	}
}

static void print_value(long n)
{
	const struct node *v = &nodes[n];

	switch (v->type) {
	case T_STRING: {
		size_t len;
		char *s = unescape(doc + v->start, v->end - v->start, &len);

		fwrite(s, 1, len, stdout);
		free(s);
		break;
	}
	case T_ARRAY:
	case T_OBJECT:
		print_compact(n);
		break;
	default:
		fwrite(doc + v->start, 1, v->end - v->start, stdout);
		break;
	}
	putchar('\n');
}

/* ---- main ------------------------------------------------------------------------ */

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "jsonq: %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "jsonq: %s: read error\n", path);
		exit(EXIT_USAGE);
	}
	fclose(f);
	*len = n;
	return buf;
}

static long step_into(long n, const struct step *s)
{
	if (s->kind == S_NAME) {
		if (nodes[n].type != T_OBJECT)
			return -1;
		for (long m = nodes[n].first; m >= 0; m = nodes[m].next) {
			long k = nodes[m].key;
			size_t len;
			char *name = unescape(doc + nodes[k].start,
					      nodes[k].end - nodes[k].start, &len);
			int same = len == s->name_len && memcmp(name, s->name, len) == 0;

			free(name);
			if (same)
				return m;
		}
		return -1;
	} else {
		long idx = s->index, m;

		if (nodes[n].type != T_ARRAY)
			return -1;
		if (idx < 0)
			idx += (long)nodes[n].count;
		if (idx < 0 || (size_t)idx >= nodes[n].count)
			return -1;
		for (m = nodes[n].first; idx > 0; idx--)
			m = nodes[m].next;
		return m;
	}
}

int main(int argc, char **argv)
{
	long root, n;

	if (argc != 3) {
		fprintf(stderr, "usage: jsonq FILE EXPR\n"
			"  EXPR: . or a path like .a.b[0][\"c d\"], "
			"optionally |length or |type\n");
		return EXIT_USAGE;
	}
	parse_expr(argv[2]);
	file_name = argv[1];
	doc = read_file(argv[1], &doc_len);

	pos = 0;
	root = parse_value(0);
	skip_ws();
	if (pos < doc_len)
		invalid(pos, "%s after the value", what_at(pos));

	n = root;
	for (size_t i = 0; i < nsteps; i++) {
		n = step_into(n, &steps[i]);
		if (n < 0)
			return EXIT_NOVALUE;
	}
	switch (filter) {
	case F_LENGTH:
		if (nodes[n].type != T_ARRAY && nodes[n].type != T_OBJECT)
			return EXIT_NOVALUE;
		printf("%zu\n", nodes[n].count);
		break;
	case F_TYPE:
		printf("%s\n", type_names[nodes[n].type]);
		break;
	default:
		print_value(n);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "jsonq: write error\n");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
