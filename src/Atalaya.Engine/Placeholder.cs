namespace Atalaya.Engine; public static class Placeholder { }
