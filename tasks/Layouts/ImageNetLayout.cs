using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>imagenet:PATH</c>: ImageNet-style synset folders, PATH/{train,val}/nXXXXXXXX/*.JPEG (or the winter-21
/// release's imagenet21k_train / imagenet21k_val), numbered by a class list at PATH: <c>LOC_synset_mapping.txt</c>
/// (ImageNet-1K), <c>imagenet21k_wordnet_ids.txt</c> or <c>synsets.txt</c> (one id per line, e.g. the winter-21
/// list). The list fixes the numbering, so a split missing some classes keeps every other label in place, and a
/// folder the list does not name is an error: its images would have no label.
/// </summary>
public static class ImageNetLayout
{
    public static readonly string[] ClassListNames = ["LOC_synset_mapping.txt", "imagenet21k_wordnet_ids.txt", "synsets.txt"];

    public static DatasetLayout Layout { get; } = new("imagenet", TaskFamily.Classification,
        "PATH/{train,val}/<synset>/*.JPEG, classes numbered by PATH/LOC_synset_mapping.txt (or imagenet21k_wordnet_ids.txt, synsets.txt)", Open);

    public static ITaskDataset Open(LayoutRequest request)
    {
        var list = SynsetList.Read(LayoutFiles.FirstExisting(request.Root, "synset list", ClassListNames));
        if (request.Labels is { } labels && list.Entries.Count > labels.NumClasses)
        {
            var first = list.Entries[labels.NumClasses];
            throw DataFormatException.AtLine(list.Path, first.Line,
                $"synset {first.Id} gets class {labels.NumClasses} (classes are numbered in list order), {labels.Rule}; the list has {list.Entries.Count} synsets");
        }
        var split = request.SplitName("train", "val");
        var root = LayoutFiles.FirstExisting(request.Root, $"{request.Split} split folder", split, $"imagenet21k_{split}");
        var listing = FolderListing.Open(root, request.IndexCacheDir);
        var labelOfFolder = new int[listing.NumFolders];
        for (var folder = 0; folder < listing.NumFolders; folder++)
        {
            var synset = listing.FolderNames[folder];
            labelOfFolder[folder] = list.IndexOf(synset) ?? -1;
            if (labelOfFolder[folder] < 0)
            {
                request.Problem(new DataFormatException(listing.FolderPath(folder), $"folder '{synset}' is not a synset of the class list {list.Path}"));
            }
        }
        var index = ImageFolderIndex.Create(listing, [.. list.Entries.Select(e => e.Words)], labelOfFolder);
        if (index.Count == 0)
        {
            throw new DataFormatException(root, "no images in any synset folder (expected SPLIT/<synset>/*.JPEG)");
        }
        return new ImageFolderDataset(request.Name, index);
    }
}
