// MSBuild task (compiled by RoslynCodeTaskFactory): makes one GLIBCXX version need of an ELF64
// little-endian shared library weak, so the library loads where that version is missing.
// Used by LibTorchSharpGlibcxx.targets; see the comment there for why.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class GppfWeakenGlibcxxNeed : Task
{
    const uint ShtDynsym = 11;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const uint ShtGnuVersym = 0x6fffffff;
    const ushort VerFlgWeak = 0x2;
    const byte StbWeak = 2;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        if (HostProvides(VersionName))
        {
            Log.LogMessage(MessageImportance.Low, "libstdc++ provides " + VersionName + "; nothing to patch.");
            return true;
        }
        foreach (var item in Files)
        {
            string path = item.GetMetadata("FullPath");
            try
            {
                Patch(path);
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch " + path + ": " + e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    // True when a libstdc++ found in the usual places defines the version string.
    static bool HostProvides(string version)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        };
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (string c in candidates)
        {
            if (File.Exists(c))
            {
                return IndexOf(File.ReadAllBytes(c), needle) >= 0;
            }
        }
        return false;
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    struct Section { public uint Type; public long Offset; public long Size; public uint Link; public long EntSize; }

    void Patch(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");

        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        var sections = new Section[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long o = shoff + (long)i * shentsize;
            sections[i] = new Section
            {
                Type = BitConverter.ToUInt32(b, (int)o + 4),
                Offset = BitConverter.ToInt64(b, (int)o + 24),
                Size = BitConverter.ToInt64(b, (int)o + 32),
                Link = BitConverter.ToUInt32(b, (int)o + 40),
                EntSize = BitConverter.ToInt64(b, (int)o + 56),
            };
        }
        int verneed = Array.FindIndex(sections, s => s.Type == ShtGnuVerneed);
        int dynsym = Array.FindIndex(sections, s => s.Type == ShtDynsym);
        int versym = Array.FindIndex(sections, s => s.Type == ShtGnuVersym);
        if (verneed < 0 || dynsym < 0 || versym < 0)
        {
            Log.LogMessage(MessageImportance.Low, path + " has no symbol versioning; nothing to patch.");
            return;
        }

        // Walk Elf64_Verneed / Elf64_Vernaux records for the version name.
        Section vn = sections[verneed];
        Section vnStr = sections[vn.Link];
        int versionIndex = -1;
        bool changed = false;
        long needOff = vn.Offset;
        while (true)
        {
            int cnt = BitConverter.ToUInt16(b, (int)needOff + 2);
            long auxOff = needOff + BitConverter.ToUInt32(b, (int)needOff + 8);
            for (int a = 0; a < cnt; a++)
            {
                string name = CString(b, vnStr.Offset + BitConverter.ToUInt32(b, (int)auxOff + 8));
                if (name == VersionName)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)auxOff + 4);
                    if ((flags & VerFlgWeak) == 0)
                    {
                        WriteU16(b, auxOff + 4, (ushort)(flags | VerFlgWeak));
                        changed = true;
                    }
                    versionIndex = BitConverter.ToUInt16(b, (int)auxOff + 6) & 0x7fff;
                }
                auxOff += BitConverter.ToUInt32(b, (int)auxOff + 12);
            }
            uint next = BitConverter.ToUInt32(b, (int)needOff + 12);
            if (next == 0) break;
            needOff += next;
        }

        Section sym = sections[dynsym];
        Section symStr = sections[sym.Link];
        Section vs = sections[versym];
        long count = sym.Size / sym.EntSize;
        var weakened = new List<string>();
        if (versionIndex >= 0)
        {
            for (long i = 0; i < count; i++)
            {
                long vsOff = vs.Offset + i * 2;
                if ((BitConverter.ToUInt16(b, (int)vsOff) & 0x7fff) != versionIndex) continue;
                long so = sym.Offset + i * sym.EntSize;
                byte info = b[so + 4];
                b[so + 4] = (byte)((StbWeak << 4) | (info & 0xf));
                WriteU16(b, vsOff, 1); // VER_NDX_GLOBAL: no version asked of the provider
                weakened.Add(CString(b, symStr.Offset + BitConverter.ToUInt32(b, (int)so)));
                changed = true;
            }
        }
        if (!changed)
        {
            Log.LogMessage(MessageImportance.Low, path + ": no strong need on " + VersionName + "; nothing to patch.");
            return;
        }

        // Replace the directory entry rather than writing through it: the output copy may be a hard
        // link into the package cache.
        string tmp = path + ".gppf-patch.tmp";
        File.WriteAllBytes(tmp, b);
        File.Delete(path);
        File.Move(tmp, path);
        Log.LogMessage(MessageImportance.Normal, "Weakened " + VersionName + " need in " + path +
            (weakened.Count > 0 ? " (symbols: " + string.Join(", ", weakened) + ")" : ""));
    }

    static void WriteU16(byte[] b, long offset, ushort value)
    {
        b[offset] = (byte)(value & 0xff);
        b[offset + 1] = (byte)(value >> 8);
    }

    static string CString(byte[] b, long offset)
    {
        long end = offset;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)offset, (int)(end - offset));
    }
}
