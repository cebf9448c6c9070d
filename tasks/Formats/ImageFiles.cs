using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// The one place that calls the image codec (ImageSharp), so every decode failure becomes a
/// <see cref="DataFormatException"/> naming the file. Data sets are assumed trusted: ImageSharp 2.x has
/// had reported decoder flaws with crafted images, so do not point the loader at untrusted uploads.
/// </summary>
internal static class ImageFiles
{
    /// <summary>Extensions an image folder may hold, compared case-insensitively.</summary>
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    public static bool IsImageFile(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>Decodes a file as <typeparamref name="TPixel"/>, reporting the format it was stored in.</summary>
    public static Image<TPixel> Load<TPixel>(string path, out IImageFormat format)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        try
        {
            return Image.Load<TPixel>(path, out format);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "file not found", inner: e);
        }
        catch (UnknownImageFormatException e)
        {
            throw new DataFormatException(path, "not a readable image (unknown format)", inner: e);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot read: {e.Message}", inner: e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Decoders fail on damaged data with all kinds of exception types (format, content, index or
            // argument errors); whatever the type, the file is what the user has to look at.
            throw new DataFormatException(path, $"corrupt image: {e.Message}", inner: e);
        }
    }

    /// <summary>The PNG bit depth and colour type of a decoded PNG, or a clear error when the file is not a PNG.</summary>
    public static PngMetadata RequirePng(string path, Image image, IImageFormat format, string what)
    {
        if (format is not PngFormat)
        {
            throw new DataFormatException(path, $"{what} must be a PNG, found {format.Name}");
        }
        return image.Metadata.GetPngMetadata();
    }

    /// <summary>Writes a PNG atomically enough for a generator: to a side file first, then renamed into place.</summary>
    public static void SavePng(Image image, string path, PngEncoder encoder)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var partial = path + ".partial";
        image.SaveAsPng(partial, encoder);
        File.Move(partial, path, overwrite: true);
    }
}
