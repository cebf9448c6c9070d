namespace GppfActors.Tasks.Formats;

/// <summary>The COCO-JSON dialects the reader accepts; they differ only in how an image entry names its file and what else it carries.</summary>
public enum CocoFlavor
{
    /// <summary>COCO 2017 and the project's own files: <c>file_name</c> relative to the image folder.</summary>
    Coco,

    /// <summary>
    /// LVIS v1: no <c>file_name</c>; the image is the COCO 2017 file its <c>coco_url</c> ends with
    /// (<c>train2017/000000391895.jpg</c>, relative to the COCO folder), and each image lists
    /// <c>not_exhaustive_category_ids</c> and <c>neg_category_ids</c>.
    /// </summary>
    Lvis,

    /// <summary>
    /// Objects365 (v1 and v2): <c>file_name</c> as given, or, since v2's names carry a download path
    /// (<c>images/v1/patch8/x.jpg</c>) the extracted archive lacks, its last two parts (<c>patch8/x.jpg</c>) or its bare name.
    /// </summary>
    Objects365,
}
