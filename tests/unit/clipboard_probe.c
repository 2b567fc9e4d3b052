/* SPDX-License-Identifier: ISC */
/*
 * clipboard_probe.c - the clipboard as another program sees it, for
 * clip_win32.sh (Windows build, under wine):
 *   clipboard_probe get        the text (CF_UNICODETEXT) as UTF-8, or "(empty)"
 *   clipboard_probe set TEXT   copies TEXT, as a user copying something else
 *   clipboard_probe seq        the clipboard's sequence number
 *   clipboard_probe markers    each privacy format `vault clip` sets, and its
 *                              DWORD ("CanIncludeInClipboardHistory=0"), or
 *                              "NAME absent"
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

int wmain(int argc, wchar_t **argv);

static HWND
window(void)
{
	return CreateWindowExW(0, L"STATIC", L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
}

static int
open_clip(HWND w)
{
	int i;

	for (i = 0; i < 40; i++) {
		if (OpenClipboard(w))
			return 0;
		Sleep(50);
	}
	fprintf(stderr, "clipboard_probe: cannot open the clipboard (error %lu)\n", (unsigned long)GetLastError());
	return -1;
}

int
wmain(int argc, wchar_t **argv)
{
	static const wchar_t *const markers[] = { L"CanIncludeInClipboardHistory", L"CanUploadToCloudClipboard",
		L"ExcludeClipboardContentFromMonitorProcessing" };
	HWND w = window();
	HANDLE h;
	size_t i;
	char out[4096];

	if (argc < 2 || open_clip(w) != 0)
		return 2;
	if (wcscmp(argv[1], L"get") == 0) {
		if ((h = GetClipboardData(CF_UNICODETEXT)) == NULL) {
			puts("(empty)");
		} else {
			if (WideCharToMultiByte(CP_UTF8, 0, GlobalLock(h), -1, out, sizeof(out), NULL, NULL) <= 0)
				out[0] = '\0';
			GlobalUnlock(h);
			puts(out);
		}
	} else if (wcscmp(argv[1], L"set") == 0 && argc == 3) {
		size_t n = (wcslen(argv[2]) + 1) * sizeof(wchar_t);
		HGLOBAL g = GlobalAlloc(GMEM_MOVEABLE, n);

		memcpy(GlobalLock(g), argv[2], n);
		GlobalUnlock(g);
		if (!EmptyClipboard() || SetClipboardData(CF_UNICODETEXT, g) == NULL) {
			CloseClipboard();
			return 1;
		}
	} else if (wcscmp(argv[1], L"seq") == 0) {
		printf("%lu\n", (unsigned long)GetClipboardSequenceNumber());
	} else if (wcscmp(argv[1], L"markers") == 0) {
		for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
			UINT f = RegisterClipboardFormatW(markers[i]);
			DWORD *v;

			if ((h = GetClipboardData(f)) == NULL || GlobalSize(h) < sizeof(DWORD)) {
				printf("%ls absent\n", markers[i]);
				continue;
			}
			v = GlobalLock(h);
			printf("%ls=%lu\n", markers[i], (unsigned long)*v);
			GlobalUnlock(h);
		}
	} else {
		CloseClipboard();
		return 2;
	}
	CloseClipboard();
	return 0;
}
