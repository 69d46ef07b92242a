// SPDX-License-Identifier: GPL-2.0
/*
 * A small printf formatter that guest code can use: no libc, no locale, no
 * thread-local storage, no floating point.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "ucall.h"

struct out {
	char *buf;
	unsigned long size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_number(struct out *o, unsigned long long v, unsigned int base, bool upper,
		       bool negative, bool alt, unsigned int width, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);

	len = n + negative + (alt ? 2 : 0);
	if (pad == ' ')
		for (; width > len; width--)
			put(o, ' ');
	if (negative)
		put(o, '-');
	if (alt) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	for (; width > len; width--)
		put(o, '0');
	while (n)
		put(o, tmp[--n]);
}

int kvmf_vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };

	for (; *fmt; fmt++) {
		unsigned int width = 0, longs = 0;
		bool alt = false;
		char pad = ' ';
		unsigned long long u;
		long long s;
		const char *str;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '#') {
			alt = true;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			longs++;

		switch (*fmt) {
		case 'd':
		case 'i':
			s = longs ? va_arg(ap, long long) : va_arg(ap, int);
			put_number(&o, s < 0 ? -(unsigned long long)s : (unsigned long long)s, 10,
				   false, s < 0, false, width, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			put_number(&o, u, *fmt == 'u' ? 10 : 16, *fmt == 'X', false,
				   alt && *fmt != 'u', width, pad);
			break;
		case 'p':
			put_number(&o, (unsigned long)va_arg(ap, void *), 16, false, false, true,
				   width, pad);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's':
			str = va_arg(ap, const char *);
			str = str ? str : "(null)";
			for (u = 0; str[u]; u++)
				;
			for (; width > u; width--)
				put(&o, ' ');
			for (; *str; str++)
				put(&o, *str);
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			/* Unknown conversion: show it rather than guess. */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
			break;
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
	return o.len;
}
